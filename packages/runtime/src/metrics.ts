import { Registry, collectDefaultMetrics } from 'prom-client';

export { Registry };

/**
 * One registry per process, handed to each component, so that `walrus all`
 * serves one /metrics with every service's series.
 */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'walrus_' });
  return registry;
}

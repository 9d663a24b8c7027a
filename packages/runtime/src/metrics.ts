import { Registry, collectDefaultMetrics } from 'prom-client';

export { Registry };

/**
 * prom-client's default gauges that end in `_total`, which Prometheus
 * reserves for counters (`promtool check metrics` refuses them). Each is the
 * sum of its per-type gauge, which stays: `sum(walrus_nodejs_active_handles)`.
 */
const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * One registry per process, handed to each component, so that `walrus all`
 * serves one /metrics with every service's series.
 */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'walrus_' });
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(`walrus_${name}`);
  return registry;
}

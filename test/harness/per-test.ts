import type { ServiceDefinition } from '@walrus/runtime';
import { afterEach } from 'vitest';
import { startInProcess, type InProcessService } from './in-process.js';

/**
 * Starts services in-process for a test file (startInProcess, against the
 * NATS server `natsUrl()` names when called) and stops every one after the
 * test that started it. Call at the top of the file: it registers afterEach.
 */
export function inProcessPerTest(natsUrl: () => string): <C>(def: ServiceDefinition<C>, env?: Record<string, string>) => Promise<InProcessService> {
  const services: InProcessService[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
  });
  return async (def, env = {}) => {
    const s = await startInProcess(def, env, natsUrl());
    services.push(s);
    return s;
  };
}

import * as harness from '@walrus/harness';
import type { InProcessService } from '@walrus/harness';
import type { ServiceDefinition } from '@walrus/runtime';
import { registerLogSource } from './logs.js';

export { publishJs, type InProcessService } from '@walrus/harness';

/**
 * Runs one service inside the test process (@walrus/harness's
 * startInProcess), its log lines printed when a test fails.
 */
export function startInProcess<C>(def: ServiceDefinition<C>, env: Record<string, string>, natsUrl: string, now?: () => Date): Promise<InProcessService> {
  return harness.startInProcess(def, env, natsUrl, { onLogSource: registerLogSource, ...(now ? { now } : {}) });
}

import { z } from 'zod';
import { policyFromEnv } from '@walrus/core';
import { envInt, loadEnvConfig, type ServiceDefinition } from '@walrus/runtime';
import { startDecider, type DeciderConfig } from './decider.js';

export { startDecider, type DeciderConfig } from './decider.js';

export const deciderEnvSchema = z.object({
  /** Durable consumer shared by all decider processes of one deployment. */
  WALRUS_DECIDER_CONSUMER: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a consumer name')
    .default('walrus-decider')
    .describe('1 to 64 characters of [A-Za-z0-9_-]'),
  /** Samples of different clusters handled at once by one decider process. */
  WALRUS_DECIDER_CONCURRENCY: envInt(1, 1024).default(256),
});

export const decider: ServiceDefinition<DeciderConfig> = {
  name: 'decider',
  defaultMetricsPort: 9102,
  loadConfig(env) {
    const own = loadEnvConfig(deciderEnvSchema, env);
    const policy = policyFromEnv(env);
    const problems = [...own.problems, ...(policy.ok ? [] : policy.errors)];
    if (!own.config || !policy.ok || problems.length > 0) return { config: null, problems };
    return { config: { defaults: policy.policy, consumer: own.config.WALRUS_DECIDER_CONSUMER, concurrency: own.config.WALRUS_DECIDER_CONCURRENCY }, problems: [] };
  },
  start: startDecider,
};

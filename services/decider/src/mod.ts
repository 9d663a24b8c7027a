import { z } from 'zod';
import { DEFAULT_MAX_CLOCK_SKEW_SEC, policyFromEnv } from '@walrus/core';
import { envInt, loadEnvConfig, type ServiceDefinition } from '@walrus/runtime';
import { startDecider, type DeciderConfig } from './decider.js';

export { startDecider, type DeciderConfig } from './decider.js';
export { AlertPublisher, EffectPublisher } from './alerts.js';

export const deciderEnvSchema = z.object({
  /** Durable consumer shared by all decider processes of one deployment. */
  WALRUS_DECIDER_CONSUMER: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a consumer name')
    .default('walrus-decider')
    .describe('1 to 64 characters of [A-Za-z0-9_-]'),
  /** Samples of different clusters handled at once by one decider process. */
  WALRUS_DECIDER_CONCURRENCY: envInt(1, 1024).default(256),
  /**
   * Seconds a sample may be dated ahead of the decider's clock (hosts'
   * clocks differ a little); a later one is dead-lettered, never evaluated.
   * Also how far the clocks must disagree before a sample dated before the
   * last one is taken for a clock that went back (a new baseline) rather than
   * a reordering (ignored). The same for analyze --apply's live samples.
   */
  WALRUS_MAX_CLOCK_SKEW_SEC: envInt(1, 86_400).default(DEFAULT_MAX_CLOCK_SKEW_SEC),
});

export const decider: ServiceDefinition<DeciderConfig> = {
  name: 'decider',
  defaultMetricsPort: 9102,
  loadConfig(env) {
    const own = loadEnvConfig(deciderEnvSchema, env);
    const policy = policyFromEnv(env);
    const problems = [...own.problems, ...(policy.ok ? [] : policy.errors)];
    if (!own.config || !policy.ok || problems.length > 0) return { config: null, problems };
    return {
      config: {
        defaults: policy.policy,
        consumer: own.config.WALRUS_DECIDER_CONSUMER,
        concurrency: own.config.WALRUS_DECIDER_CONCURRENCY,
        maxClockSkewSec: own.config.WALRUS_MAX_CLOCK_SKEW_SEC,
      },
      problems: [],
    };
  },
  start: startDecider,
};

import { z } from 'zod';
import { policyFromEnv } from '@walrus/core';
import { envInt, loadEnvConfig, type ServiceDefinition } from '@walrus/runtime';
import { startHistorian, type HistorianConfig } from './historian.js';

export { migrate, loadMigrations } from './migrate.js';
export { startHistorian, type HistorianConfig } from './historian.js';

export const historianEnvSchema = z.object({
  HISTORY_DATABASE_URL: z
    .string({ error: 'not set' })
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .describe('a postgres:// URL of the history database'),
  /** How often the historian runs walrus.cleanup_history(). */
  WALRUS_HISTORY_CLEANUP_INTERVAL_SEC: envInt(10, 86400).default(3600),
});

export const historian: ServiceDefinition<HistorianConfig> = {
  name: 'historian',
  defaultMetricsPort: 9104,
  loadConfig(env) {
    const own = loadEnvConfig(historianEnvSchema, env);
    const policy = policyFromEnv(env);
    const problems = [...own.problems, ...(policy.ok ? [] : policy.errors)];
    if (!own.config || !policy.ok || problems.length > 0) return { config: null, problems };
    return {
      config: {
        databaseUrl: own.config.HISTORY_DATABASE_URL,
        retentionDays: policy.policy.historyRetentionDays,
        notifyChannel: policy.policy.notifyChannel,
        cleanupIntervalSec: own.config.WALRUS_HISTORY_CLEANUP_INTERVAL_SEC,
      },
      problems: [],
    };
  },
  start: startHistorian,
};

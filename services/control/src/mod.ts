import { z } from 'zod';
import { policyFromEnv } from '@walrus/core';
import { clusterSpecs } from '@walrus/cluster';
import { connectTimeoutEnv, envBool, envInt, loadClusterSource, loadEnvConfig, queryTimeoutEnv, type ServiceDefinition } from '@walrus/runtime';
import { startControl, type ControlConfig } from './control.js';

export { startControl, type ControlConfig } from './control.js';
export { clusterStatus, fleetSummary } from './status.js';

export const controlEnvSchema = z.object({
  /** Optional here: without it, history and cleanup_history answer with an error saying so. */
  HISTORY_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional()
    .describe('a postgres:// URL of the history database'),
  /** Serve the live page (/, /api/fleet, /api/series, /api/events) on METRICS_PORT. */
  WALRUS_PAGE: envBool().default(true),
  /** Seconds `analyze` with apply may take in all (a decider's answer, then the applier's outcome) before answering without the outcome. */
  WALRUS_CONTROL_APPLY_WAIT_SEC: envInt(1, 120).default(20),
  ...connectTimeoutEnv,
  ...queryTimeoutEnv,
});

export const control: ServiceDefinition<ControlConfig> = {
  name: 'control',
  defaultMetricsPort: 9105,
  loadConfig(env) {
    const own = loadEnvConfig(controlEnvSchema, env);
    const policy = policyFromEnv(env);
    // A static list is optional for the control service: it allows live reads of clusters outside the registry.
    const source = loadClusterSource(env);
    // walrus_* URL parameters and multi-host lists are read as the collector reads them, once.
    const clusters = source.source?.kind === 'static' ? clusterSpecs(source.source.entries) : { clusters: [], problems: [] };
    const problems = [...own.problems, ...(policy.ok ? [] : policy.errors), ...source.problems, ...clusters.problems];
    if (!own.config || !policy.ok || problems.length > 0) return { config: null, problems };
    return {
      config: {
        defaults: policy.policy,
        clusters: clusters.clusters,
        historyDatabaseUrl: own.config.HISTORY_DATABASE_URL ?? null,
        connectTimeoutSec: own.config.WALRUS_CONNECT_TIMEOUT_SEC,
        queryTimeoutMs: own.config.WALRUS_QUERY_TIMEOUT_MS,
        page: own.config.WALRUS_PAGE,
        applyWaitSec: own.config.WALRUS_CONTROL_APPLY_WAIT_SEC,
      },
      problems: [],
    };
  },
  start: startControl,
};

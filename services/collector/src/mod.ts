import { z } from 'zod';
import { policyFromEnv } from '@walrus/core';
import { envInt, loadClusters, loadEnvConfig, type ServiceDefinition } from '@walrus/runtime';
import { parseClusterUrl } from '@walrus/cluster';
import { startCollector, type CollectorConfig } from './collector.js';

export { startCollector, type CollectorConfig } from './collector.js';

export const collectorEnvSchema = z.object({
  /** Seconds between samples; default each cluster's own checkpoint_timeout. */
  WALRUS_SAMPLE_INTERVAL: envInt(1, 86400).optional(),
  /** Connections per cluster; one suffices, a second lets a slow query not hold up the next. */
  WALRUS_COLLECTOR_POOL_SIZE: envInt(1, 10).default(1),
  WALRUS_CONNECT_TIMEOUT_SEC: envInt(1, 300).default(10),
  WALRUS_QUERY_TIMEOUT_MS: envInt(100, 600_000).default(10_000),
  /** Statistics queries running at once across all clusters of the process (connecting does not count). */
  WALRUS_COLLECTOR_CONCURRENCY: envInt(1, 1000).default(16),
  /**
   * Seconds between pressure probes of a cluster between its samples (the
   * requested-checkpoint counter and the WAL position); under pressure the
   * cluster is sampled every second until relieved. 0 = off.
   */
  WALRUS_PRESSURE_PROBE_SEC: envInt(0, 3600).describe('0 .. 3600 (0 = off)').default(1),
  /** Samples one cluster may take ahead of its interval, under pressure, in any hour. */
  WALRUS_PRESSURE_MAX_SAMPLES_PER_HOUR: envInt(0, 3600).default(600),
});

export const collector: ServiceDefinition<CollectorConfig> = {
  name: 'collector',
  defaultMetricsPort: 9101,
  loadConfig(env) {
    const own = loadEnvConfig(collectorEnvSchema, env);
    const clusters = loadClusters(env);
    // The deciders' service defaults: which algorithm a cluster uses decides whether fast sampling serves it.
    const policy = policyFromEnv(env);
    const problems = [...own.problems, ...clusters.problems, ...(policy.ok ? [] : policy.errors)];
    for (const c of clusters.clusters) {
      const parsed = parseClusterUrl(c.id, c.url);
      if (!parsed.ok) problems.push(parsed.problem);
    }
    if (!own.config || !policy.ok || problems.length > 0) return { config: null, problems };
    return {
      config: {
        clusters: clusters.clusters,
        intervalSec: own.config.WALRUS_SAMPLE_INTERVAL ?? null,
        poolSize: own.config.WALRUS_COLLECTOR_POOL_SIZE,
        connectTimeoutSec: own.config.WALRUS_CONNECT_TIMEOUT_SEC,
        queryTimeoutMs: own.config.WALRUS_QUERY_TIMEOUT_MS,
        concurrency: own.config.WALRUS_COLLECTOR_CONCURRENCY,
        pressureProbeSec: own.config.WALRUS_PRESSURE_PROBE_SEC,
        pressureMaxSamplesPerHour: own.config.WALRUS_PRESSURE_MAX_SAMPLES_PER_HOUR,
        defaults: policy.policy,
      },
      problems: [],
    };
  },
  start: startCollector,
};

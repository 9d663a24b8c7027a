import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { policyFromEnv } from '@walrus/core';
import { clusterSpecs } from '@walrus/cluster';
import { connectTimeoutEnv, envInt, loadClusterSource, loadEnvConfig, queryTimeoutEnv, type ServiceDefinition } from '@walrus/runtime';
import { startCollector, type CollectorConfig } from './collector.js';

export { startCollector, type CollectorConfig } from './collector.js';

/** A collector's id by default: its host name (made a key) and a random suffix, so that two processes never share one. */
export function defaultCollectorId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 48) || 'collector';
  return `${host}-${randomBytes(4).toString('hex')}`;
}

export const collectorEnvSchema = z.object({
  /** Seconds between samples; default each cluster's own checkpoint_timeout. */
  WALRUS_SAMPLE_INTERVAL: envInt(1, 86400).optional(),
  /** Connections per cluster; one suffices, a second lets a slow query not hold up the next. */
  WALRUS_COLLECTOR_POOL_SIZE: envInt(1, 10).default(1),
  ...connectTimeoutEnv,
  ...queryTimeoutEnv,
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
  /**
   * Serving the registry: how long a stopped or killed collector's clusters
   * may stay without an owner (ARCHITECTURE §8). Heartbeats go every third of it.
   */
  WALRUS_LEASE_SEC: envInt(3, 300).default(10),
  /** This collector's id (named in its samples and in `walrus status`); default the host name and a random suffix. */
  WALRUS_COLLECTOR_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 characters of [A-Za-z0-9_-]')
    .optional()
    .describe('1 to 64 characters of [A-Za-z0-9_-]'),
});

export const collector: ServiceDefinition<CollectorConfig> = {
  name: 'collector',
  defaultMetricsPort: 9101,
  loadConfig(env) {
    const own = loadEnvConfig(collectorEnvSchema, env);
    const source = loadClusterSource(env);
    // The deciders' service defaults: which algorithm a cluster uses decides whether fast sampling serves it.
    const policy = policyFromEnv(env);
    const specs = source.source?.kind === 'static' ? clusterSpecs(source.source.entries) : { clusters: [], problems: [] };
    const problems = [...own.problems, ...source.problems, ...specs.problems, ...(policy.ok ? [] : policy.errors)];
    if (!own.config || !policy.ok || !source.source || problems.length > 0) return { config: null, problems };
    return {
      config: {
        source: source.source.kind === 'static' ? { kind: 'static', clusters: specs.clusters } : { kind: 'registry', leaseSec: own.config.WALRUS_LEASE_SEC },
        id: own.config.WALRUS_COLLECTOR_ID ?? defaultCollectorId(),
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

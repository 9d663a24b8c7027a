import { SuperuserCheck } from '@walrus/cluster';
import type { Policy } from '@walrus/core';
import { Limiter, OncePerProcess, type ClusterEntry, type ServiceDeps, type ServiceHandle } from '@walrus/runtime';
import { collectorMetrics } from './metrics.js';
import { ClusterMembers } from './cluster-members.js';

export interface CollectorConfig {
  clusters: ClusterEntry[];
  /** WALRUS_SAMPLE_INTERVAL; null = each cluster's checkpoint_timeout. */
  intervalSec: number | null;
  poolSize: number;
  connectTimeoutSec: number;
  queryTimeoutMs: number;
  /** Statistics queries running at once across all clusters of this process. */
  concurrency: number;
  /** Seconds between pressure probes of a cluster (WALRUS_PRESSURE_PROBE_SEC); 0 = no fast sampling. */
  pressureProbeSec: number;
  /** Pressure samples one cluster may take in an hour (WALRUS_PRESSURE_MAX_SAMPLES_PER_HOUR). */
  pressureMaxSamplesPerHour: number;
  /**
   * The service defaults of the decision parameters (the deciders' WALRUS_*
   * variables): a cluster's effective algorithm tells whether fast sampling
   * serves it.
   */
  defaults: Policy;
}

export async function startCollector(deps: ServiceDeps<CollectorConfig>): Promise<ServiceHandle> {
  const { config, nc, log, registry, now } = deps;
  let samplers: ClusterMembers[] = [];
  const metrics = collectorMetrics(registry, () => samplers.filter((s) => s.fastSampling).length);
  const limiter = new Limiter(config.concurrency);
  const superusers = new SuperuserCheck(log, deps.once ?? new OncePerProcess());
  // Spread the first samples over a second per hundred clusters (at most
  // ten), so that a large fleet does not hit NATS all at once.
  const spreadMs = Math.min(10_000, 10 * config.clusters.length);
  samplers = config.clusters.map(
    (cluster, i) =>
      new ClusterMembers({
        cluster,
        nc,
        log,
        metrics,
        now,
        intervalSec: config.intervalSec,
        poolSize: config.poolSize,
        connectTimeoutSec: config.connectTimeoutSec,
        queryTimeoutMs: config.queryTimeoutMs,
        limiter,
        superusers,
        firstDelayMs: config.clusters.length > 1 ? Math.floor((spreadMs * i) / config.clusters.length) : 0,
        ...(config.pressureProbeSec > 0
          ? { pressure: { probeSec: config.pressureProbeSec, maxSamplesPerHour: config.pressureMaxSamplesPerHour, defaults: config.defaults } }
          : {}),
      }),
  );
  for (const s of samplers) s.start();
  return {
    name: 'collector',
    health: () => ({
      service: 'collector',
      clusters: samplers.length,
      up: samplers.filter((s) => s.isUp === true).length,
      down: samplers.filter((s) => s.isUp === false).length,
      members: samplers.reduce((n, s) => n + s.memberStates.length, 0),
      membersDown: samplers.reduce((n, s) => n + s.memberStates.filter((u) => u === false).length, 0),
      queriesRunning: limiter.inUse,
      queriesWaiting: limiter.queued,
    }),
    // Ready once running: a cluster that is down is reported, not a reason to restart us.
    ready: () => true,
    stop: async () => {
      await Promise.all(samplers.map((s) => s.stop()));
    },
  };
}

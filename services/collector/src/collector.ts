import { SuperuserCheck, type ClusterSpec } from '@walrus/cluster';
import type { Policy } from '@walrus/core';
import { JetStreamRequests, Limiter, OncePerProcess, type ServiceDeps, type ServiceHandle } from '@walrus/runtime';
import { collectorMetrics } from './metrics.js';
import { ClusterMembers } from './cluster-members.js';
import { startFleet, type Fleet } from './fleet.js';

export interface CollectorConfig {
  /** A static list (WALRUS_CLUSTERS / WALRUS_CLUSTERS_FILE), or the registry shared with the other collectors. */
  source: { kind: 'static'; clusters: ClusterSpec[] } | { kind: 'registry'; leaseSec: number };
  /** This collector's id (WALRUS_COLLECTOR_ID): named in its samples, and its key among the collectors. */
  id: string;
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
  /** The clusters sampled now, with the registry revision each was started from (0 for a static list). */
  const served = new Map<string, { members: ClusterMembers; revision: number }>();
  const all = () => [...served.values()].map((s) => s.members);
  const metrics = collectorMetrics(registry, () => all().filter((s) => s.sampledFast).length);
  const limiter = new Limiter(config.concurrency);
  const superusers = new SuperuserCheck(log, deps.once ?? new OncePerProcess());

  const start = (cluster: ClusterSpec, revision: number, o: { firstDelayMs: number; prevSeq: number | null }) => {
    const members = new ClusterMembers({
      cluster,
      collectorId: config.id,
      prevSeq: o.prevSeq,
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
      firstDelayMs: o.firstDelayMs,
      ...(config.pressureProbeSec > 0
        ? { pressure: { probeSec: config.pressureProbeSec, maxSamplesPerHour: config.pressureMaxSamplesPerHour, defaults: config.defaults } }
        : {}),
    });
    served.set(cluster.id, { members, revision });
    members.start();
  };
  const stop = async (ids: readonly string[]) => {
    await Promise.all(
      ids.map(async (id) => {
        const s = served.get(id);
        if (!s) return;
        await s.members.stop();
        served.delete(id);
        // The series of a cluster this collector no longer serves would report it forever.
        metrics.up.remove({ cluster: id });
      }),
    );
  };

  let fleet: Fleet | null = null;
  let requests: JetStreamRequests | null = null;
  if (config.source.kind === 'static') {
    const list = config.source.clusters;
    // Spread the first samples over a second per hundred clusters (at most
    // ten), so that a large fleet does not hit NATS all at once.
    const spreadMs = Math.min(10_000, 10 * list.length);
    list.forEach((c, i) => start(c, 0, { prevSeq: null, firstDelayMs: list.length > 1 ? Math.floor((spreadMs * i) / list.length) : 0 }));
  } else {
    requests = new JetStreamRequests(nc, { inboxPrefix: deps.inboxPrefix });
    fleet = await startFleet({
      nc,
      requests,
      log,
      startup: deps.startup,
      provision: deps.provision,
      replicas: deps.replicas,
      id: config.id,
      leaseSec: config.source.leaseSec,
      intervalSec: config.intervalSec,
      samplers: {
        running: () => new Map([...served].map(([id, s]) => [id, s.revision])),
        has: (id) => served.has(id),
        start: (spec, revision, t) => start(spec, revision, t),
        stop,
      },
    });
  }
  log.info({ collector: config.id, source: config.source.kind, ...(config.source.kind === 'static' ? { clusters: config.source.clusters.length } : { leaseSec: config.source.leaseSec }) }, 'collector serving');

  return {
    name: 'collector',
    health: () => {
      const samplers = all();
      return {
        service: 'collector',
        clusters: samplers.length,
        up: samplers.filter((s) => s.isUp === true).length,
        down: samplers.filter((s) => s.isUp === false).length,
        members: samplers.reduce((n, s) => n + s.memberStates.length, 0),
        membersDown: samplers.reduce((n, s) => n + s.memberStates.filter((u) => u === false).length, 0),
        queriesRunning: limiter.inUse,
        queriesWaiting: limiter.queued,
        ...(fleet ? { fleet: fleet.health() } : { collector: config.id }),
      };
    },
    // Ready once running (a cluster that is down is reported, not a reason to restart us); on the registry, once joined.
    ready: () => fleet?.ready() ?? true,
    stop: async () => {
      if (fleet) await fleet.stop();
      else await stop([...served.keys()]);
      requests?.close();
    },
  };
}

import { DeliverPolicy, jetstream, type JsMsg } from '@nats-io/jetstream';
import { hostname } from 'node:os';
import { DecisionV1, decisionSubject, isExecutable, KV_APPLIED_BUCKET, KV_CLUSTERS_BUCKET, SHARED_APPLIER_CONSUMER, STREAM_DECISIONS } from '@walrus/core';
import { memberConnection, RegisteredClusters, SuperuserCheck, type ClusterSpec } from '@walrus/cluster';
import {
  ack,
  ClusterRegistry,
  consumerMetrics,
  decodeMessage,
  isNotFound,
  isTransientJetStreamError,
  JetStreamRequests,
  Limiter,
  OncePerProcess,
  redactUrl,
  startDurableConsumer,
  type KvFollower,
  type Outcome,
  type RunningConsumer,
  type ServiceDeps,
  type ServiceHandle,
} from '@walrus/runtime';
import pg from 'pg';
import { AppliedRecords } from './applied-records.js';
import { decisionCarrier } from './carry-out.js';
import { applierMetrics } from './metrics.js';
import { ServedCluster } from './served.js';
import { sharedDecisionHandler } from './shared.js';

export interface ApplierConfig {
  /** A static list (one durable consumer per cluster), or the registry (one consumer shared by every applier). */
  source: { kind: 'static'; clusters: ClusterSpec[] } | { kind: 'registry' };
  /** The applier's own ceiling, whatever a decision asks (WALRUS_APPLIER_MAX_MB). */
  maxMb: number | null;
  /** Fixed expiry of a decision; null = twice the decision's checkpoint_timeout. */
  expirySec: number | null;
  verifyTimeoutSec: number;
  connectTimeoutSec: number;
  /** How far back a newly created applier consumer starts reading decisions. */
  lookbackSec: number;
}

export const applierConsumerName = (cluster: string): string => `walrus-applier-${cluster}`;

/** Start-up role checks (superuser warning) running at once. */
const STARTUP_CHECKS_AT_ONCE = 8;
/** A registered cluster's pools are closed after this long without a decision. */
const POOL_IDLE_MS = 10 * 60_000;
/** How long a decision for a cluster the registry does not show yet waits for it (the watch may be a moment behind). */
const REGISTRY_GRACE_MS = 2000;

export async function startApplier(deps: ServiceDeps<ApplierConfig>): Promise<ServiceHandle> {
  const { config, nc, log, registry, now } = deps;
  const js = jetstream(nc);
  const served = new Map<string, ServedCluster>();
  const metrics = applierMetrics(registry, () => served.size);
  const cMetrics = consumerMetrics(registry);
  const superusers = new SuperuserCheck(log, deps.once ?? new OncePerProcess());
  // Ends a retry's backoff at once when the applier stops.
  const stopped = new AbortController();
  const carryOut = decisionCarrier({ js, log, metrics, now, maxMb: config.maxMb, expirySec: config.expirySec, stopped: stopped.signal });
  const serve = (spec: ClusterSpec) => new ServedCluster(spec, { connectTimeoutSec: config.connectTimeoutSec, verifyTimeoutSec: config.verifyTimeoutSec, log, superusers });
  const startTime = () => new Date(now().getTime() - config.lookbackSec * 1000).toISOString();

  const consumers: RunningConsumer[] = [];
  let following: KvFollower | null = null;
  let sweep: NodeJS.Timeout | null = null;
  let requests: JetStreamRequests | null = null;

  if (config.source.kind === 'static') {
    for (const spec of config.source.clusters) served.set(spec.id, serve(spec));
    const handle = (cluster: string) => async (msg: JsMsg): Promise<Outcome> => {
      const decoded = decodeMessage(DecisionV1, msg.data);
      if (!decoded.ok) return { kind: 'reject', reason: decoded.reason };
      if (!isExecutable(decoded.value.action)) return ack;
      return carryOut(cluster, () => served.get(cluster) ?? null, decoded.value, msg);
    };
    for (const spec of config.source.clusters) {
      consumers.push(
        await startDurableConsumer(
          deps.startup,
          deps.provision,
          {
            durable_name: applierConsumerName(spec.id),
            filter_subject: decisionSubject(spec.id),
            // A new applier looks back a bounded time, not over a month of
            // history: decisions made before it first started still get an
            // outcome (most will have expired); afterwards the durable keeps its place.
            deliver_policy: DeliverPolicy.StartTime,
            opt_start_time: startTime(),
            ack_wait: 30_000_000_000,
            max_ack_pending: 1,
          },
          { nc, stream: STREAM_DECISIONS, service: 'applier', log, metrics: cMetrics, handle: handle(spec.id), maxMessages: 8 },
        ),
      );
      const s = served.get(spec.id);
      log.debug({ cluster: spec.id, url: redactUrl(spec.url), strategy: s?.strategy.name, members: s?.members.current.map((m) => m.name) }, 'applying decisions for cluster');
    }
    checkRolesAtStart([...served.values()], config.connectTimeoutSec, superusers, stopped.signal);
  } else {
    const provisionNote = deps.provision ? '' : ' (WALRUS_PROVISION=false: created by an administrator)';
    const transient = (err: unknown) => isTransientJetStreamError(err) || (!deps.provision && isNotFound(err));
    const reqs = new JetStreamRequests(nc, { inboxPrefix: deps.inboxPrefix });
    requests = reqs;
    const clusterRegistry = await deps.startup.wait(`JetStream KV bucket ${KV_CLUSTERS_BUCKET}${provisionNote}`, () => ClusterRegistry.open(nc, deps), { transient });
    const records = await deps.startup.wait(`JetStream KV bucket ${KV_APPLIED_BUCKET}${provisionNote}`, () => AppliedRecords.open(nc, reqs, deps), { transient });
    const registered = new RegisteredClusters((cluster, problem) => log.error({ cluster, problem }, 'registry entry cannot be served; decisions for the cluster are rejected'));
    const drop = (ids: readonly string[]) => {
      for (const id of ids) {
        const s = served.get(id);
        served.delete(id);
        void s?.close();
      }
    };
    following = clusterRegistry.follow((changes) => {
      const { removed, changed } = registered.update(changes);
      // A removed or changed entry: its pools go; a changed one is opened again from the new entry on its next decision.
      drop([...removed, ...changed]);
    }, log);
    await following.ready;
    const servedFor = async (cluster: string): Promise<ServedCluster | null> => {
      const known = served.get(cluster);
      if (known) return known;
      let spec = registered.spec(cluster);
      for (const deadline = performance.now() + REGISTRY_GRACE_MS; !spec && registered.get(cluster) === undefined && performance.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 100));
        spec = registered.spec(cluster);
      }
      if (!spec) return null;
      const s = served.get(cluster) ?? serve(spec);
      served.set(cluster, s);
      return s;
    };
    // Pools of clusters without a decision for a while are closed: an applier of 10,000 clusters holds connections only where it works.
    sweep = setInterval(() => {
      const idle = [...served.values()].filter((s) => performance.now() - s.lastUsed > POOL_IDLE_MS).map((s) => s.id);
      if (idle.length > 0) log.debug({ clusters: idle.length }, 'closing idle cluster pools');
      drop(idle);
    }, 60_000);
    sweep.unref();
    const handle = sharedDecisionHandler({
      records,
      requests: reqs,
      log,
      metrics,
      carryOut,
      served: servedFor,
      by: `${hostname()}:${process.pid}`,
      lookbackMs: config.lookbackSec * 1000,
      now,
    });
    consumers.push(
      await startDurableConsumer(
        deps.startup,
        deps.provision,
        {
          durable_name: SHARED_APPLIER_CONSUMER,
          filter_subject: 'walrus.decision.>',
          deliver_policy: DeliverPolicy.StartTime,
          opt_start_time: startTime(),
          ack_wait: 30_000_000_000,
          max_ack_pending: 10_000,
        },
        {
          nc,
          stream: STREAM_DECISIONS,
          service: 'applier',
          log,
          metrics: cMetrics,
          handle,
          maxMessages: 64,
          // Clusters are independent: many at once, each cluster's decisions one after the other.
          concurrency: 64,
          keyOf: (msg) => msg.subject,
        },
      ),
    );
    log.info({ consumer: SHARED_APPLIER_CONSUMER, registered: registered.size }, 'applying the decisions of the registry, shared with the other appliers');
  }

  return {
    name: 'applier',
    health: () => ({ service: 'applier', source: config.source.kind, clusters: served.size }),
    ready: () => consumers.every((c) => c.running()),
    stop: async () => {
      stopped.abort();
      if (sweep) clearInterval(sweep);
      await Promise.all(consumers.map((c) => c.stop()));
      following?.stop();
      await Promise.all([...served.values()].map((s) => s.close()));
      requests?.close();
    },
  };
}

/**
 * The superuser warning at start-up, for a static list. Not awaited: a
 * cluster that is down at start-up must not hold the applier back. A few at
 * a time: an applier serving a thousand clusters must not open a thousand
 * connections at once (several entries may share a server). Each check has
 * a connection of its own, bounded in time, so that a server that accepts
 * connections but never answers can neither hold the cluster's apply
 * connection nor keep the other clusters' checks waiting; a cluster that is
 * down is checked on its first apply instead.
 */
function checkRolesAtStart(clusters: ServedCluster[], connectTimeoutSec: number, superusers: SuperuserCheck, stopped: AbortSignal): void {
  const checks = new Limiter(STARTUP_CHECKS_AT_ONCE);
  for (const s of clusters) {
    // Never rejects: the role check and the superuser check log their failures.
    void checks.acquire().then(async (release) => {
      if (stopped.aborted) return release();
      const timeoutMs = connectTimeoutSec * 1000;
      const pool = new pg.Pool({
        // The first member's: the role and its grants are the same on every member (they replicate).
        ...memberConnection(s.spec, s.firstMember),
        max: 1,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        application_name: 'walrus-applier',
      });
      pool.on('error', () => undefined);
      pool.on('connect', (client) => client.on('error', () => undefined));
      try {
        const client = await pool.connect().catch(() => null);
        if (client) {
          try {
            await superusers.check(client, s.id);
          } finally {
            client.release();
          }
        }
      } finally {
        release();
        await pool.end().catch(() => undefined);
      }
    });
  }
}

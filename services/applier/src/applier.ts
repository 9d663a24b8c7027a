import { DeliverPolicy, jetstream, type JsMsg } from '@nats-io/jetstream';
import {
  appliedSubject,
  applyResultMsgId,
  DecisionV1,
  decisionSubject,
  isExecutable,
  MAX_WAL_SIZE_LIMIT_MB,
  MIN_WAL_SIZE_LIMIT_MB,
  STREAM_DECISIONS,
  type ApplyResult,
  type Decision,
} from '@walrus/core';
import {
  ack,
  consumerMetrics,
  decodeMessage,
  redactUrl,
  retryInHandler,
  sleep,
  startDurableConsumer,
  type ClusterEntry,
  type Outcome,
  type RunningConsumer,
  type ServiceDeps,
  type ServiceHandle,
  Limiter,
  OncePerProcess,
} from '@walrus/runtime';
import { MemberList, MemberPools, parseClusterUrl, SuperuserCheck, type ClusterTopology, type MemberEndpoint } from '@walrus/cluster';
import pg from 'pg';
import { Counter, Histogram } from 'prom-client';
import { attemptApply, toApplyResult, type Attempt } from './apply-decision.js';
import { attemptOnMembers } from './apply-members.js';
import { strategyFor } from './strategies/select.js';
import type { ApplyStrategy } from './strategies/types.js';

export interface ApplierConfig {
  clusters: ClusterEntry[];
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

export async function startApplier(deps: ServiceDeps<ApplierConfig>): Promise<ServiceHandle> {
  const { config, nc, log, registry, now } = deps;
  const js = jetstream(nc);
  const metrics = consumerMetrics(registry);
  const applyTotal = new Counter({
    name: 'walrus_apply_total',
    help: 'Decisions the applier finished, by cluster and outcome (applied, stale, rejected, failed).',
    labelNames: ['cluster', 'status'],
    registers: [registry],
  });
  const applySeconds = new Histogram({
    name: 'walrus_apply_duration_seconds',
    help: 'Time from receiving an executable decision to publishing its outcome, retries included.',
    labelNames: ['cluster'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600],
    registers: [registry],
  });
  const attemptsFailed = new Counter({
    name: 'walrus_apply_retries_total',
    help: 'Apply attempts that failed transiently (server unreachable) and were retried.',
    labelNames: ['cluster'],
    registers: [registry],
  });

  const owned = new Map(config.clusters.map((c) => [c.id, c]));
  /** Per cluster: its members (from the URL, or Patroni), one pool per member, how a size is put in force. */
  interface Served {
    members: MemberList;
    pools: MemberPools;
    strategy: ApplyStrategy;
  }
  const served = new Map<string, Served>(
    config.clusters.map((c) => {
      // Validated by loadConfig.
      const parsed = parseClusterUrl(c.id, c.url);
      if (!parsed.ok) throw new Error(parsed.problem);
      const topology: ClusterTopology = parsed.value;
      const pools = new MemberPools(
        { max: 1, connectionTimeoutMillis: config.connectTimeoutSec * 1000, application_name: 'walrus-applier', idleTimeoutMillis: 60_000 },
        (member, err) => log.warn({ err, cluster: c.id, member }, 'idle connection to cluster member lost'),
      );
      return [c.id, { members: new MemberList(topology, config.connectTimeoutSec * 1000), pools, strategy: strategyFor(topology, config.connectTimeoutSec * 1000) }];
    }),
  );
  const servedBy = (c: ClusterEntry): Served => {
    const s = served.get(c.id);
    if (!s) throw new Error(`cluster ${c.id} is not served by this applier`);
    return s;
  };
  /** The first member (a single-member cluster's only one; the start-up role check uses the first member of any). */
  const firstMember = (s: Served): MemberEndpoint => {
    const [first] = s.members.current;
    if (!first) throw new Error('a cluster without members');
    return first;
  };
  const poolFor = (c: ClusterEntry): pg.Pool => {
    const s = servedBy(c);
    return s.pools.pool(firstMember(s));
  };

  const superusers = new SuperuserCheck(log, deps.once ?? new OncePerProcess());
  /** The start-up role check on a connection of its own; a cluster that is down is checked on its first apply instead. */
  const checkRole = async (pool: pg.Pool, cluster: string): Promise<void> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      log.debug({ cluster, err }, 'could not check the role of the cluster connection at start-up');
      return;
    }
    try {
      await superusers.check(client, cluster);
    } finally {
      client.release();
    }
  };

  let stopping = false;
  // Ends a retry's backoff at once when the applier stops (the message goes back for redelivery).
  const stopped = new AbortController();

  // The outcome goes to the subject of the consumer's own cluster, even when a
  // decision names another cluster: that is the only one this applier may publish to.
  const publishResult = async (cluster: string, d: Decision, result: ApplyResult, startedMs: number) => {
    await js.publish(appliedSubject(cluster), JSON.stringify(result), {
      msgID: applyResultMsgId(d.id, result.status),
    });
    // Labels from the consumer's cluster, never from the payload (bounded cardinality).
    applyTotal.inc({ cluster, status: result.status });
    applySeconds.observe({ cluster }, (performance.now() - startedMs) / 1000);
    const entry = {
      cluster: d.cluster,
      decisionId: d.id,
      action: d.action,
      oldSizeMb: d.old_size_mb,
      newSizeMb: d.new_size_mb,
      status: result.status,
      maxWalSizeMb: result.max_wal_size_mb,
      error: result.error,
      ...(result.member !== undefined ? { member: result.member } : {}),
      ...(result.failed_members?.length ? { failedMembers: result.failed_members } : {}),
    };
    const overridden = result.members?.filter((m) => m.via === 'alter_system').map((m) => m.member) ?? [];
    if (overridden.length > 0) {
      log.warn({ ...entry, members: overridden }, "Patroni's value did not reach these members within the verify timeout: set there with ALTER SYSTEM (reset before walrus's next PATCH /config)");
    }
    if (result.status === 'applied') log.info(entry, 'max_wal_size changed');
    else log.warn(entry, `decision not applied: ${result.status}`);
  };

  const handle = (cluster: ClusterEntry) => async (msg: JsMsg): Promise<Outcome> => {
    const decoded = decodeMessage(DecisionV1, msg.data);
    if (!decoded.ok) return { kind: 'reject', reason: decoded.reason };
    const d = decoded.value;
    if (!isExecutable(d.action)) return ack;
    const startedMs = performance.now();
    const finish = async (a: Extract<Attempt, { kind: 'done' }>): Promise<Outcome> => {
      await publishResult(cluster.id, d, toApplyResult(d, a, now()), startedMs);
      return ack;
    };
    // Defense in depth: whatever NATS lets through, act only on our own
    // cluster and within bounds.
    if (d.cluster !== cluster.id || !owned.has(d.cluster)) {
      return finish({ kind: 'done', status: 'rejected', maxWalSizeMb: null, error: `cluster ${d.cluster} is not served by this applier` });
    }
    const ceiling = Math.min(MAX_WAL_SIZE_LIMIT_MB, config.maxMb ?? MAX_WAL_SIZE_LIMIT_MB);
    if (!Number.isSafeInteger(d.new_size_mb) || d.new_size_mb < MIN_WAL_SIZE_LIMIT_MB || d.new_size_mb > ceiling) {
      return finish({
        kind: 'done',
        status: 'rejected',
        maxWalSizeMb: null,
        error: `size ${d.new_size_mb} MB is outside the applier's bounds ${MIN_WAL_SIZE_LIMIT_MB}..${ceiling} MB${config.maxMb ? ' (WALRUS_APPLIER_MAX_MB)' : ''}`,
      });
    }
    const expiresAt = Date.parse(d.decided_at) + (config.expirySec ?? 2 * d.checkpoint_timeout_sec) * 1000;
    let lastError = '';
    return retryInHandler(
      msg,
      {
        backoff: { initialMs: 500, maxMs: 15_000 },
        signal: stopped.signal,
        onFailure: (f) => {
          attemptsFailed.inc({ cluster: cluster.id });
          // Once per decision; each further attempt at debug level.
          const fields = { cluster: cluster.id, decisionId: d.id, err: f.reason, retryInMs: f.retryInMs };
          if (f.attempt === 1) log.warn(fields, 'cluster unreachable; will retry until the decision expires');
          else log.debug(fields, 'cluster still unreachable');
        },
      },
      async () => {
        if (now().getTime() >= expiresAt) {
          return finish({
            kind: 'done',
            status: 'failed',
            maxWalSizeMb: null,
            error: `expired at ${new Date(expiresAt).toISOString()} before it could be applied${lastError ? `; last error: ${lastError}` : ''}`,
          });
        }
        const attempt = await attemptOnCluster(cluster, d);
        if (attempt.kind === 'done') return finish(attempt);
        lastError = attempt.error;
        return { kind: 'again', reason: attempt.error, maxWaitMs: expiresAt - now().getTime() };
      },
    );
  };

  const attemptOnCluster = async (cluster: ClusterEntry, d: Decision): Promise<Attempt> => {
    const s = servedBy(cluster);
    if (s.members.topology.multiMember) {
      if (s.members.dynamic) {
        const r = await s.members.refresh();
        if (r.error) log.warn({ cluster: cluster.id, error: r.error }, 'could not read the member list from Patroni; using the last one');
        else await s.pools.retain(r.members.map((m) => m.name));
      }
      return attemptOnMembers({
        decision: d,
        members: s.members.current,
        connect: async (m) => {
          const client = await s.pools.pool(m).connect();
          // Once per cluster and process, on whichever member comes first (the role is the same on all).
          await superusers.check(client, cluster.id).catch(() => undefined);
          return client;
        },
        verifyTimeoutMs: config.verifyTimeoutSec * 1000,
        sleep: (ms) => sleep(ms),
        monotonicMs: () => performance.now(),
        strategy: s.strategy,
      });
    }
    let client: pg.PoolClient;
    try {
      client = await poolFor(cluster).connect();
    } catch (err) {
      return { kind: 'transient', error: (err as Error).message };
    }
    let broken = false;
    try {
      // Once per cluster and process: here too, for a cluster that was down when the applier started.
      await superusers.check(client, cluster.id);
      const a = await attemptApply({
        client,
        decision: d,
        verifyTimeoutMs: config.verifyTimeoutSec * 1000,
        sleep: (ms) => sleep(ms),
        monotonicMs: () => performance.now(),
        strategy: s.strategy,
      });
      broken = a.kind === 'transient';
      return a;
    } finally {
      client.release(broken);
    }
  };

  const consumers: RunningConsumer[] = [];
  for (const cluster of config.clusters) {
    const durable = applierConsumerName(cluster.id);
    consumers.push(
      await startDurableConsumer(
        deps.startup,
        deps.provision,
        {
          durable_name: durable,
          filter_subject: decisionSubject(cluster.id),
          // A new applier looks back a bounded time, not over a month of
          // history: decisions made before it first started still get an
          // outcome (most will have expired); afterwards the durable keeps its place.
          deliver_policy: DeliverPolicy.StartTime,
          opt_start_time: new Date(now().getTime() - config.lookbackSec * 1000).toISOString(),
          ack_wait: 30_000_000_000,
          max_ack_pending: 1,
        },
        { nc, stream: STREAM_DECISIONS, service: 'applier', log, metrics, handle: handle(cluster), maxMessages: 8 },
      ),
    );
    log.debug(
      { cluster: cluster.id, url: redactUrl(cluster.url), strategy: servedBy(cluster).strategy.name, members: servedBy(cluster).members.current.map((m) => m.name) },
      'applying decisions for cluster',
    );
  }
  // Not awaited: a cluster that is down at start-up must not hold the applier
  // back. A few at a time: an applier serving a thousand clusters must not
  // open a thousand connections at once (several entries may share a server).
  // Each check has a connection of its own, bounded in time, so that a
  // server that accepts connections but never answers can neither hold the
  // cluster's apply connection nor keep the other clusters' checks waiting.
  const checks = new Limiter(STARTUP_CHECKS_AT_ONCE);
  for (const cluster of config.clusters) {
    // Never rejects: the role check and the superuser check log their failures.
    void checks.acquire().then(async (release) => {
      if (stopping) return release();
      const timeoutMs = config.connectTimeoutSec * 1000;
      const pool = new pg.Pool({
        // The first member's: the role and its grants are the same on every member (they replicate).
        connectionString: firstMember(servedBy(cluster)).url,
        max: 1,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        application_name: 'walrus-applier',
      });
      pool.on('error', () => undefined);
      pool.on('connect', (client) => client.on('error', () => undefined));
      try {
        await checkRole(pool, cluster.id);
      } finally {
        release();
        await pool.end().catch(() => undefined);
      }
    });
  }

  return {
    name: 'applier',
    health: () => ({ service: 'applier', clusters: config.clusters.length }),
    ready: () => consumers.every((c) => c.running()),
    stop: async () => {
      stopping = true;
      stopped.abort();
      await Promise.all(consumers.map((c) => c.stop()));
      await Promise.all([...served.values()].map((s) => s.pools.end()));
    },
  };
}

import type { JsMsg } from '@nats-io/jetstream';
import {
  ALERT_STATE_KEY,
  clockWentBack,
  countsForCluster,
  decisionMsgId,
  decisionSubject,
  evaluate,
  evaluateAlerts,
  KV_STATE_BUCKET,
  type Alert,
  resolvePolicy,
  sampleAhead,
  SampleV1,
  STREAM_SAMPLES,
  type ClusterState,
  type ConfigWarning,
  type Insight,
  type Decision,
  type Policy,
  type Sample,
} from '@walrus/core';
import {
  ack,
  Backoff,
  consumerMetrics,
  decodeMessage,
  describeFailure,
  errorMessage,
  isNotFound,
  isTransientJetStreamError,
  JetStreamRequests,
  sleep,
  startDurableConsumer,
  PREV_SEQ_HEADER,
  StateConflictError,
  StateStore,
  type Logger,
  type Outcome,
  type ServiceDeps,
  type ServiceHandle,
} from '@walrus/runtime';
import { AlertPublisher } from './alerts.js';
import { ClusterLock } from './cluster-lock.js';
import { deciderMetrics, readDiskReadings, readingsOf } from './metrics.js';
import { serveRequests } from './requests.js';
import { SampleLog } from './sample-log.js';

export interface DeciderConfig {
  /** Service defaults of every walrus.* parameter (WALRUS_* variables). */
  defaults: Policy;
  /** The durable consumer shared by every decider process. */
  consumer: string;
  /** Samples handled at once (of different clusters). */
  concurrency: number;
  /** WALRUS_MAX_CLOCK_SKEW_SEC: how far a sample may be dated ahead of the decider's clock (engine/clock.ts). */
  maxClockSkewSec: number;
}

const MB = 1024 * 1024;
/** A new cluster's samples stored this long before the one in hand are not replayed (JetStream's duplicate window). */
const CATCH_UP_WINDOW_MS = 5 * 60_000;

export async function startDecider(deps: ServiceDeps<DeciderConfig>): Promise<ServiceHandle> {
  const { config, nc, log, registry, now } = deps;
  const m = deciderMetrics(registry);
  const requests = new JetStreamRequests(nc, { inboxPrefix: deps.inboxPrefix });
  const store = await deps.startup.wait(
    `JetStream KV bucket ${KV_STATE_BUCKET}${deps.provision ? '' : ' (WALRUS_PROVISION=false: created by an administrator)'}`,
    () => StateStore.open(nc, requests, deps, log),
    { transient: (err) => isTransientJetStreamError(err) || (!deps.provision && isNotFound(err)) },
  );
  const samples = new SampleLog(requests);
  // Shared by the sample consumer and the requests this process serves (requests.ts).
  const lock = new ClusterLock();
  const alertPublisher = await AlertPublisher.start({ nc, requests, log, provision: deps.provision });
  const warned = new Map<string, string>();
  let stopping = false;
  // Ends the backoff of a sample being retried when the decider stops.
  const stopped = new AbortController();
  const trouble = new TroubleLog(log);
  const maxSkewMs = config.maxClockSkewSec * 1000;

  const reportWarnings = (cluster: string, warnings: ConfigWarning[]) => {
    readingsOf(m.readings, cluster).invalidOverrides = warnings.length;
    const signature = warnings.map((w) => w.message).join('\n');
    // Once per change, not once per sample.
    if ((warned.get(cluster) ?? '') === signature) return;
    warned.set(cluster, signature);
    for (const w of warnings) log.warn({ cluster, parameter: w.parameter, value: w.value, allowed: w.allowed }, w.message);
  };

  /**
   * Evaluates the sample stored at `seq`, after every earlier sample of its
   * cluster that no decider has evaluated yet (read from the stream), so that
   * a cluster's samples are evaluated in stream order whichever decider
   * receives them. Decisions are published before the state is saved: a
   * crash repeats an evaluation (same decision id, stored once), never loses one.
   * The cluster's lock keeps this process's own analyze and reset requests
   * out meanwhile; other deciders' writes show as a state conflict (evaluate again).
   */
  const evaluateSample = (sample: Sample, seq: number, storedAtMs: number, prevSeq: number | null): Promise<void> =>
    lock.run(sample.cluster, () => evaluateInOrder(sample, seq, storedAtMs, prevSeq));

  const evaluateInOrder = async (sample: Sample, seq: number, storedAtMs: number, prevSeq: number | null): Promise<void> => {
    const cluster = sample.cluster;
    for (let attempt = 0; ; attempt++) {
      const { state, revision } = await store.load(cluster);
      if (state.sampleSeq !== undefined && seq <= state.sampleSeq) {
        // Already evaluated: by us before a crash, or by another decider catching up.
        m.evaluations.inc({ outcome: 'already_evaluated' });
        return;
      }
      const earlier = await unevaluated(cluster, state, revision, seq, storedAtMs, prevSeq);
      if (earlier.length > 0) m.caughtUp.inc(earlier.length);
      let current = state;
      const done: Array<{
        sample: Sample;
        prev: number | null;
        counts: boolean;
        policy: Policy;
        decision: Decision | null;
        insight?: Insight;
        prevProfile: unknown;
        clockJump: string | null;
        alerts: Alert[];
      }> = [];
      for (const item of [...earlier, { seq, time: storedAtMs, sample }]) {
        const nowMs = now().getTime();
        // Dated too far ahead: the decider holding it dead-letters it (handle); never the cluster's last sample.
        if (sampleAhead(item.sample, nowMs, maxSkewMs) !== null) {
          current = { ...current, sampleSeq: item.seq };
          continue;
        }
        const { policy, warnings } = resolvePolicy(config.defaults, item.sample.settings);
        reportWarnings(cluster, warnings);
        // A clock that went back re-baselines the cluster instead of having its samples ignored (engine/clock.ts).
        const jump = clockWentBack(current, item.sample, { storedAtMs: item.time, nowMs, maxSkewMs });
        const result = evaluate({ state: jump?.state ?? current, sample: item.sample, policy, now: new Date(nowMs).toISOString() });
        m.evaluations.inc({ outcome: result.outcome.kind });
        if (result.decision) {
          // The id is derived from cluster and sample time, so a sample evaluated
          // again after a crash republishes the same id: JetStream stores it once.
          await requests.publish(decisionSubject(cluster), JSON.stringify(result.decision), { msgId: decisionMsgId(result.decision.id) });
        } else {
          const fields = { cluster, outcome: result.outcome.kind, ...(item.sample.member !== undefined ? { member: item.sample.member } : {}) };
          // A change of primary, or a stale old primary, is worth seeing without debug logs.
          if (result.outcome.kind === 'failover') log.info(fields, result.outcome.reason);
          else if (result.outcome.kind === 'split_brain') log.warn(fields, result.outcome.reason);
          else log.debug(fields, result.outcome.reason);
        }
        const evaluated = result.outcome.kind !== 'ignored_old_sample';
        const counts = countsForCluster(current, item.sample);
        // The stored time goes with lastSampleAt (the cluster's counters: not a standby member's): the clock check compares the next samples with this one.
        const storedAt = evaluated && counts && Number.isFinite(item.time) ? { lastSampleStoredAt: new Date(item.time).toISOString() } : {};
        if (!evaluated) {
          current = { ...result.state, sampleSeq: item.seq, ...storedAt };
          continue;
        }
        // Alerts (docs/DISK-SAFETY.md): published before the state that
        // records them is saved, with ids derived from the sample, so a
        // crash in between republishes the same alerts, stored once. The
        // book comes from the state before any clock re-baseline: what fires
        // does not depend on the clock.
        // A standby member's disk is not the cluster's: its samples would
        // resolve what the primary's raise (alerts are per cluster, not per member).
        const raised = counts ? evaluateAlerts(current.algo[ALERT_STATE_KEY], item.sample, policy) : { alerts: [], state: null };
        for (const a of raised.alerts) await alertPublisher.publish(a);
        done.push({
          sample: item.sample,
          prev: current.prevRequested,
          // A standby member's counters and size are its own, not the cluster's.
          counts,
          policy,
          decision: result.decision,
          insight: result.insight,
          prevProfile: current.algo['profile'],
          clockJump: jump?.reason ?? null,
          alerts: raised.alerts,
        });
        const algo = { ...result.state.algo };
        if (raised.state === null) {
          // Left as it was.
        } else if (Object.keys(raised.state.firing).length > 0) algo[ALERT_STATE_KEY] = raised.state;
        else delete algo[ALERT_STATE_KEY];
        current = { ...result.state, algo, sampleSeq: item.seq, ...storedAt };
      }
      try {
        await store.save(cluster, current, revision);
      } catch (err) {
        if (err instanceof StateConflictError && attempt < 20) {
          m.stateConflicts.inc();
          continue;
        }
        throw err;
      }
      for (const d of done) {
        if (d.clockJump !== null) {
          m.clockSkew.inc({ cluster, reason: 'back' });
          log.warn({ cluster, collectedAt: d.sample.collected_at }, d.clockJump);
        }
        recordEvaluated(d.sample, d.counts ? d.prev : null, d.counts, d.policy, d.decision);
        reportInsight(cluster, d.prevProfile, d.insight);
        recordAlerts(d.alerts);
      }
      return;
    }
  };

  /** The samples of `cluster` stored before `seq` that the stored state has not seen yet. */
  const unevaluated = async (cluster: string, state: ClusterState, revision: number, seq: number, storedAtMs: number, prevSeq: number | null) => {
    // The collector names the previous sample: when that is the last one
    // evaluated, nothing is missing in between (the common case, no search).
    if (state.sampleSeq !== undefined && prevSeq === state.sampleSeq) return [];
    if (state.sampleSeq !== undefined) return samples.between(cluster, state.sampleSeq, seq);
    if (revision !== 0 || state.lastSampleAt !== null) return []; // a state from before sampleSeq existed
    // No state at all: a new cluster, whose first samples may be in other
    // deciders' hands. Samples stored long before this one predate the state
    // (it was deleted): those are not replayed.
    const first = await samples.next(cluster, 1);
    if (!first || first.seq >= seq || first.time < storedAtMs - CATCH_UP_WINDOW_MS) return [];
    return samples.between(cluster, first.seq - 1, seq);
  };

  /** WAL rate, required size and the active time profile (whose changes are logged once). */
  const reportInsight = (cluster: string, previousProfile: unknown, insight: Insight | undefined): void => {
    if (!insight) return;
    const r = readingsOf(m.readings, cluster);
    if (insight.walRateBytesPerSec !== null) r.walRateBytesPerSec = insight.walRateBytesPerSec;
    if (insight.requiredSizeMb !== null) r.requiredSizeBytes = insight.requiredSizeMb * MB;
    const before = typeof previousProfile === 'string' ? previousProfile : null;
    if (before !== insight.profile) {
      log.info({ cluster, profile: insight.profile, previousProfile: before }, insight.profile === null ? 'time profile ended' : 'time profile active');
    }
    r.profile = insight.profile ?? '';
  };

  const recordEvaluated = (sample: Sample, prev: number | null, counts: boolean, policy: Policy, decision: Decision | null) => {
    const cluster = sample.cluster;
    const r = readingsOf(m.readings, cluster);
    if (counts) {
      r.maxWalSizeBytes = sample.max_wal_size_mb * MB;
      r.maxAllowedBytes = policy.maxMb * MB;
    }
    r.sampleTimeSec = Date.parse(sample.collected_at) / 1000;
    readDiskReadings(r, sample, policy);
    const delta = forcedSince(prev, sample);
    // Also by 0: the series then exists from the cluster's first sample, so that
    // increase() counts its first forced checkpoints (a series that appears
    // with them would hide them from the dashboard and deploy/prometheus/alerts.yml).
    m.forcedCheckpoints.inc({ cluster }, delta);
    if (decision) {
      const d = decision;
      m.decisions.inc({ cluster, action: d.action });
      log.info(
        {
          cluster,
          decisionId: d.id,
          action: d.action,
          oldSizeMb: d.old_size_mb,
          newSizeMb: d.new_size_mb,
          forcedCheckpoints: d.forced_checkpoints,
          ...(sample.member !== undefined ? { member: sample.member } : {}),
        },
        d.reason,
      );
    }
  };

  const recordAlerts = (alerts: Alert[]): void => {
    for (const a of alerts) {
      m.alerts.inc({ cluster: a.cluster, kind: a.kind, state: a.state });
      const fields = { cluster: a.cluster, alertId: a.id, kind: a.kind, state: a.state, ...(a.slot !== undefined ? { slot: a.slot } : {}) };
      if (a.state === 'firing') log.warn(fields, a.detail);
      else log.info(fields, a.detail);
    }
  };

  const handle = async (msg: JsMsg): Promise<Outcome> => {
    const decoded = decodeMessage(SampleV1, msg.data);
    if (!decoded.ok) return { kind: 'reject', reason: decoded.reason };
    const sample = decoded.value;
    if (msg.subject !== `walrus.sample.${sample.cluster}`) {
      return { kind: 'reject', reason: `cluster mismatch: subject ${msg.subject}, payload cluster ${sample.cluster}` };
    }
    // Before anything is read or written: a sample from the future must never become the cluster's last one.
    const ahead = sampleAhead(sample, now().getTime(), maxSkewMs);
    if (ahead !== null) {
      m.clockSkew.inc({ cluster: sample.cluster, reason: 'ahead' });
      return { kind: 'reject', reason: ahead };
    }
    const started = performance.now();
    // Transient failures (NATS or KV briefly away, a stream leader being
    // elected) are retried here rather than by redelivery, so that a later
    // sample of the same cluster cannot overtake this one.
    const backoff = new Backoff({ initialMs: 250, maxMs: 5000 });
    for (;;) {
      try {
        await evaluateSample(sample, msg.seq, Math.floor(msg.info.timestampNanos / 1e6), prevSeqOf(msg));
        m.evaluationSeconds.observe((performance.now() - started) / 1000);
        if (backoff.attempts > 0) trouble.over();
        return ack;
      } catch (err) {
        if (stopping) return { kind: 'retry', delayMs: 1000, reason: errorMessage(err) };
        const retryInMs = backoff.next();
        trouble.failed(err, sample.cluster, msg.seq, retryInMs);
        msg.working();
        try {
          await sleep(retryInMs, stopped.signal);
        } catch {
          return { kind: 'retry', delayMs: 1000, reason: errorMessage(err) };
        }
      }
    }
  };

  const consumer = await startDurableConsumer(deps.startup, deps.provision, { durable_name: config.consumer, ack_wait: 30_000_000_000 }, {
    nc,
    stream: STREAM_SAMPLES,
    service: 'decider',
    log,
    metrics: consumerMetrics(registry),
    handle,
    maxMessages: Math.max(256, 2 * config.concurrency),
    // Clusters are independent: many at once, each cluster's samples in order.
    concurrency: config.concurrency,
    keyOf: (msg) => msg.subject,
    sendLater: (write) => requests.later(write),
  });

  // analyze --apply and reset, asked by the control service: deciders alone write walrus_state and publish decisions.
  const served = await serveRequests({ nc, requests, store, samples, lock, defaults: config.defaults, maxClockSkewMs: maxSkewMs, now, log, metrics: m });

  return {
    name: 'decider',
    health: () => ({ service: 'decider', consumer: config.consumer }),
    ready: () => consumer.running(),
    stop: async () => {
      stopping = true;
      stopped.abort();
      await served.stop();
      await consumer.stop();
      requests.close();
    },
  };
}

/**
 * Logs an episode of failing evaluations once when it begins and once when
 * a retried sample goes through, not once per sample and retry: a stream
 * leader election fails every sample in hand at the same moment.
 */
class TroubleLog {
  private since: number | null = null;
  private failures = 0;

  constructor(private readonly log: Logger) {}

  failed(err: unknown, cluster: string, seq: number, retryInMs: number): void {
    this.failures += 1;
    if (this.since === null) {
      this.since = Date.now();
      this.log.warn({ err, cluster, seq, retryInMs }, 'sample handling failed; retrying with backoff (further failures at debug level)');
    } else {
      this.log.debug({ reason: describeFailure(err), cluster, seq, retryInMs }, 'sample handling failed again');
    }
  }

  over(): void {
    if (this.since === null) return;
    this.log.info({ failedForSec: Math.round((Date.now() - this.since) / 1000), failedAttempts: this.failures }, 'sample handling works again');
    this.since = null;
    this.failures = 0;
  }
}

/** The collector's Walrus-Prev-Seq header, when present and sound. */
function prevSeqOf(msg: JsMsg): number | null {
  const raw = msg.headers?.get(PREV_SEQ_HEADER);
  const n = raw ? Number(raw) : NaN;
  return Number.isSafeInteger(n) && n > 0 && n < msg.seq ? n : null;
}

function forcedSince(prev: number | null, sample: Sample): number {
  return prev === null || sample.checkpoints_requested < prev ? 0 : sample.checkpoints_requested - prev;
}

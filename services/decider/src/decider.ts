import type { JsMsg } from '@nats-io/jetstream';
import {
  decisionMsgId,
  decisionSubject,
  initialState,
  KV_STATE_BUCKET,
  sampleAhead,
  SampleV1,
  step,
  STREAM_SAMPLES,
  type ClusterState,
  type Policy,
  type Sample,
  type StepResult,
} from '@walrus/core';
import {
  ack,
  consumerMetrics,
  decodeMessage,
  errorMessage,
  isNotFound,
  isTransientJetStreamError,
  JetStreamRequests,
  retryInHandler,
  startDurableConsumer,
  PREV_SEQ_HEADER,
  StateStore,
  type Outcome,
  type ServiceDeps,
  type ServiceHandle,
} from '@walrus/runtime';
import { AlertPublisher, EffectPublisher } from './alerts.js';
import { ClusterLock } from './cluster-lock.js';
import { deciderMetrics } from './metrics.js';
import { StepReport } from './report.js';
import { serveRequests } from './requests.js';
import { SampleLog, type LoggedSample } from './sample-log.js';
import { TroubleLog } from './trouble-log.js';
import { startNoSamplesSweep } from './no-samples.js';

export interface DeciderConfig {
  /** Service defaults of every walrus.* parameter (WALRUS_* variables). */
  defaults: Policy;
  /** The durable consumer shared by every decider process. */
  consumer: string;
  /** Samples handled at once (of different clusters). */
  concurrency: number;
  /** WALRUS_MAX_CLOCK_SKEW_SEC: how far a sample may be dated ahead of the decider's clock (core's engine/clock.ts). */
  maxClockSkewSec: number;
}

/** A new cluster's samples stored this long before the one in hand are not replayed (JetStream's duplicate window). */
const CATCH_UP_WINDOW_MS = 5 * 60_000;
/** State writes refused because another decider moved the cluster on: evaluated again, this many times at most. */
const STATE_ATTEMPTS = 20;

/**
 * The decider: load → step → publish → save, per sample. The rules (core's
 * step()) decide; this adapter reads the cluster's state and samples,
 * publishes the decisions and alerts step() returns, saves the state and
 * reports (report.ts).
 */
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
  const effectPublisher = await EffectPublisher.start({ nc, requests, log, provision: deps.provision });
  const report = new StepReport(m, log);
  // Ends the backoff of a sample being retried when the decider stops.
  const stopped = new AbortController();
  const trouble = new TroubleLog(log);
  const maxSkewMs = config.maxClockSkewSec * 1000;

  /**
   * Evaluates the sample stored at `seq`, after every earlier sample of its
   * cluster that no decider has evaluated yet (read from the stream), so that
   * a cluster's samples are evaluated in stream order whichever decider
   * receives them. Decisions and alerts are published before the state is
   * saved: a crash repeats an evaluation (same ids, stored once), never
   * loses one. The cluster's lock keeps this process's own analyze and
   * reset requests out meanwhile; other deciders' writes show as a state
   * conflict (evaluate again).
   */
  const evaluateSample = (sample: Sample, seq: number, storedAtMs: number, prevSeq: number | null): Promise<void> =>
    lock.run(sample.cluster, async () => {
      const cluster = sample.cluster;
      const saved = await store.update(
        cluster,
        async ({ state: stored, revision }) => {
          const state = stored ?? initialState();
          // Already evaluated: by us before a crash, or by another decider catching up.
          if (state.sampleSeq !== undefined && seq <= state.sampleSeq) return { write: null, result: null };
          const earlier = await unevaluated(cluster, state, revision === 0, seq, storedAtMs, prevSeq);
          let current = state;
          const steps: Array<{ sample: Sample; result: StepResult }> = [];
          for (const item of [...earlier, { seq, time: storedAtMs, sample }]) {
            const result = step({ state: current, sample: item.sample, defaults: config.defaults, nowMs: now().getTime(), maxSkewMs, stored: { seq: item.seq, atMs: item.time } });
            await publish(result);
            steps.push({ sample: item.sample, result });
            current = result.state;
          }
          return { write: { save: current }, result: { caughtUp: earlier.length, steps } };
        },
        { attempts: STATE_ATTEMPTS, onConflict: () => m.stateConflicts.inc() },
      );
      if (saved === null) {
        m.evaluations.inc({ outcome: 'already_evaluated' });
        return;
      }
      if (saved.caughtUp > 0) m.caughtUp.inc(saved.caughtUp);
      for (const s of saved.steps) report.stepSaved(cluster, s.sample.member, s.result);
    });

  /** What a step gives to the world, before its state is saved; ids derived from the sample, so a step done again publishes the same messages, stored once. */
  const publish = async (r: StepResult): Promise<void> => {
    if (r.decision) await requests.publish(decisionSubject(r.decision.cluster), JSON.stringify(r.decision), { msgId: decisionMsgId(r.decision.id) });
    for (const a of r.alerts) await alertPublisher.publish(a);
    for (const e of r.effects) await effectPublisher.publish(e);
  };

  /** The samples of `cluster` stored before `seq` that the stored state has not seen yet. */
  const unevaluated = async (cluster: string, state: ClusterState, neverStored: boolean, seq: number, storedAtMs: number, prevSeq: number | null): Promise<LoggedSample[]> => {
    // The collector names the previous sample: when that is the last one
    // evaluated, nothing is missing in between (the common case, no search).
    if (state.sampleSeq !== undefined && prevSeq === state.sampleSeq) return [];
    if (state.sampleSeq !== undefined) return samples.between(cluster, state.sampleSeq, seq);
    if (!neverStored || state.lastSampleAt !== null) return []; // a state from before sampleSeq existed
    // No state at all: a new cluster, whose first samples may be in other
    // deciders' hands. Samples stored long before this one predate the state
    // (it was deleted): those are not replayed.
    const first = await samples.next(cluster, 1);
    if (!first || first.seq >= seq || first.time < storedAtMs - CATCH_UP_WINDOW_MS) return [];
    return samples.between(cluster, first.seq - 1, seq);
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
    return retryInHandler(
      msg,
      {
        backoff: { initialMs: 250, maxMs: 5000 },
        signal: stopped.signal,
        onFailure: (f) => trouble.failed(f.err, sample.cluster, msg.seq, f.retryInMs),
        onRecovered: () => trouble.over(),
      },
      async () => {
        try {
          await evaluateSample(sample, msg.seq, Math.floor(msg.info.timestampNanos / 1e6), prevSeqOf(msg));
        } catch (err) {
          return { kind: 'again', reason: errorMessage(err), err };
        }
        m.evaluationSeconds.observe((performance.now() - started) / 1000);
        return ack;
      },
    );
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

  // Quiet clusters (no_samples): swept by every decider, published and recorded once.
  const sweep = await startNoSamplesSweep({
    nc,
    store,
    alerts: alertPublisher,
    log,
    registry,
    now,
    provision: deps.provision,
    replicas: deps.replicas,
    published: (a) => report.alert(a),
  });

  // analyze --apply and reset, asked by the control service: deciders alone write walrus_state and publish decisions.
  const served = await serveRequests({ nc, requests, store, samples, lock, defaults: config.defaults, maxClockSkewMs: maxSkewMs, now, log, metrics: m });

  return {
    name: 'decider',
    health: () => ({ service: 'decider', consumer: config.consumer }),
    ready: () => consumer.running(),
    stop: async () => {
      stopped.abort();
      await sweep.stop();
      await served.stop();
      await consumer.stop();
      requests.close();
    },
  };
}

/** The collector's Walrus-Prev-Seq header, when present and sound. */
function prevSeqOf(msg: JsMsg): number | null {
  const raw = msg.headers?.get(PREV_SEQ_HEADER);
  const n = raw ? Number(raw) : NaN;
  return Number.isSafeInteger(n) && n > 0 && n < msg.seq ? n : null;
}

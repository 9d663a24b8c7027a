import { jetstream, type JsMsg } from '@nats-io/jetstream';
import {
  decisionMsgId,
  decisionSubject,
  evaluate,
  resolvePolicy,
  SampleV1,
  STREAM_SAMPLES,
  type ConfigWarning,
  type Policy,
  type Sample,
} from '@walrus/core';
import {
  ack,
  consumerMetrics,
  decodeMessage,
  ensureConsumer,
  errorMessage,
  runConsumer,
  type Outcome,
  type ServiceDeps,
  type ServiceHandle,
} from '@walrus/runtime';
import { deciderMetrics } from './metrics.js';
import { StateConflictError, StateStore } from './state-store.js';

export interface DeciderConfig {
  /** Service defaults of every walrus.* parameter (WALRUS_* variables). */
  defaults: Policy;
  /** The durable consumer shared by every decider process. */
  consumer: string;
}

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startDecider(deps: ServiceDeps<DeciderConfig>): Promise<ServiceHandle> {
  const { config, nc, log, registry, now } = deps;
  const js = jetstream(nc);
  const m = deciderMetrics(registry);
  const store = await StateStore.open(nc, deps, log);
  const warned = new Map<string, string>();
  let stopping = false;

  const reportWarnings = (cluster: string, warnings: ConfigWarning[]) => {
    m.invalidOverrides.set({ cluster }, warnings.length);
    const signature = warnings.map((w) => w.message).join('\n');
    // Once per change, not once per sample.
    if ((warned.get(cluster) ?? '') === signature) return;
    warned.set(cluster, signature);
    for (const w of warnings) log.warn({ cluster, parameter: w.parameter, value: w.value, allowed: w.allowed }, w.message);
  };

  /** Evaluates one sample against the stored state; publishes before saving so a crash repeats, never loses. */
  const evaluateSample = async (sample: Sample): Promise<void> => {
    const cluster = sample.cluster;
    for (let attempt = 0; ; attempt++) {
      const { state, revision } = await store.load(cluster);
      const { policy, warnings } = resolvePolicy(config.defaults, sample.settings);
      reportWarnings(cluster, warnings);
      const result = evaluate({ state, sample, policy, now: now().toISOString() });
      m.evaluations.inc({ outcome: result.outcome.kind });
      if (result.outcome.kind === 'ignored_old_sample') {
        log.debug({ cluster, collectedAt: sample.collected_at }, result.outcome.reason);
        return;
      }
      if (result.decision) {
        // The id is derived from cluster and sample time, so a sample evaluated
        // again after a crash republishes the same id: JetStream stores it once.
        await js.publish(decisionSubject(cluster), JSON.stringify(result.decision), {
          msgID: decisionMsgId(result.decision.id),
        });
      }
      try {
        await store.save(cluster, result.state, revision);
      } catch (err) {
        if (err instanceof StateConflictError && attempt < 5) {
          m.stateConflicts.inc();
          continue;
        }
        throw err;
      }
      m.maxWalSize.set({ cluster }, sample.max_wal_size_mb * MB);
      m.maxAllowed.set({ cluster }, policy.maxMb * MB);
      m.sampleTime.set({ cluster }, Date.parse(sample.collected_at) / 1000);
      const delta = forcedSince(state.prevRequested, sample);
      if (delta > 0) m.forcedCheckpoints.inc({ cluster }, delta);
      if (result.decision) {
        const d = result.decision;
        m.decisions.inc({ cluster, action: d.action });
        log.info(
          { cluster, decisionId: d.id, action: d.action, oldSizeMb: d.old_size_mb, newSizeMb: d.new_size_mb, forcedCheckpoints: d.forced_checkpoints },
          d.reason,
        );
      } else {
        log.debug({ cluster, outcome: result.outcome.kind }, result.outcome.reason);
      }
      return;
    }
  };

  const handle = async (msg: JsMsg): Promise<Outcome> => {
    const decoded = decodeMessage(SampleV1, msg.data);
    if (!decoded.ok) return { kind: 'reject', reason: decoded.reason };
    const sample = decoded.value;
    if (msg.subject !== `walrus.sample.${sample.cluster}`) {
      return { kind: 'reject', reason: `cluster mismatch: subject ${msg.subject}, payload cluster ${sample.cluster}` };
    }
    const started = performance.now();
    // Transient failures (NATS or KV briefly away) are retried here rather
    // than by redelivery, so that a later sample of the same cluster cannot
    // overtake this one.
    for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
      try {
        await evaluateSample(sample);
        m.evaluationSeconds.observe((performance.now() - started) / 1000);
        return ack;
      } catch (err) {
        store.forget(sample.cluster);
        if (stopping) return { kind: 'retry', delayMs: 1000, reason: errorMessage(err) };
        log.warn({ err, cluster: sample.cluster, seq: msg.seq, retryInMs: delay }, 'sample handling failed; retrying');
        msg.working();
        await sleep(delay);
      }
    }
  };

  await ensureConsumer(nc, STREAM_SAMPLES, { durable_name: config.consumer, ack_wait: 30_000_000_000 }, deps.provision, log);
  const consumer = await runConsumer({
    nc,
    stream: STREAM_SAMPLES,
    durable: config.consumer,
    service: 'decider',
    log,
    metrics: consumerMetrics(registry),
    handle,
    maxMessages: 256,
  });

  return {
    name: 'decider',
    health: () => ({ service: 'decider', consumer: config.consumer }),
    ready: () => consumer.running(),
    stop: async () => {
      stopping = true;
      await consumer.stop();
    },
  };
}

function forcedSince(prev: number | null, sample: Sample): number {
  return prev === null || sample.checkpoints_requested < prev ? 0 : sample.checkpoints_requested - prev;
}

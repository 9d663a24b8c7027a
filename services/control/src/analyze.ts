import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  appliedSubject,
  ApplyResultV1,
  decisionMsgId,
  decisionSubject,
  isExecutable,
  type Policy,
  type Sample,
  type AnalyzeResult,
} from '@walrus/core';
import { StateConflictError, type Logger } from '@walrus/runtime';
import { recommend } from './recommend.js';
import type { Sources } from './sources.js';

export interface AnalyzeDeps {
  nc: NatsConnection;
  sources: Sources;
  defaults: Policy;
  now: () => Date;
  log: Logger;
  /** How long to wait for the applier's outcome before answering without it. */
  outcomeWaitMs: number;
  onDecision?: (action: string, cluster: string) => void;
}

/** The freshest statistics: read live when this process has the cluster's URL, else the last sample on the stream. */
export async function freshSample(
  sources: Sources,
  cluster: string,
  now: () => Date,
): Promise<{ sample: Sample | null; source: 'live' | 'stream' | null; live: { ok: boolean; error: string | null } | null }> {
  if (sources.hasLive(cluster)) {
    const live = await sources.liveSample(cluster, now);
    if (live.sample) return { sample: live.sample, source: 'live', live };
    const fallback = await sources.lastSample(cluster);
    return { sample: fallback, source: fallback ? 'stream' : null, live };
  }
  const sample = await sources.lastSample(cluster);
  return { sample, source: sample ? 'stream' : null, live: null };
}

const MAX_ATTEMPTS = 5;

/**
 * Evaluates one cluster now. With `apply`, the change is made the way the
 * decider makes one, but with the rate limits bypassed (pg_walrus's
 * walrus.analyze(apply := true)): the new state is saved on the KV revision
 * that was read (another writer in between means evaluate again), then the
 * decision goes to walrus.decision.<cluster>, where the applier carries it
 * out and the historian records it.
 *
 * Unlike the decider, which publishes first, this saves first: a human is
 * waiting and a conflict with the decider is likely enough that a decision
 * must never be published from a state that then fails to save.
 */
export async function analyze(deps: AnalyzeDeps, cluster: string, apply: boolean): Promise<AnalyzeResult> {
  const { sources, now, log } = deps;
  const fresh = await freshSample(sources, cluster, now);
  for (let attempt = 1; ; attempt++) {
    const { state, revision } = await sources.state(cluster);
    const { recommendation, manual } = recommend({
      cluster,
      state,
      sample: fresh.sample,
      sampleSource: fresh.source,
      defaults: deps.defaults,
      now: now().toISOString(),
    });
    const base = { analyzed: recommendation.action !== 'error', recommendation, applied: false, decision_id: null, apply_status: null, apply_error: null, max_wal_size_mb: null };
    if (!apply) return { ...base, reason: null };
    const decision = manual?.decision ?? null;
    if (!manual || !decision) return { ...base, reason: `nothing to apply: ${recommendation.reason}` };

    try {
      await sources.store.save(cluster, manual.state, revision);
    } catch (err) {
      if (err instanceof StateConflictError && attempt < MAX_ATTEMPTS) {
        log.debug({ cluster, attempt }, 'state changed while analyzing; evaluating again');
        continue;
      }
      throw err;
    }

    const executable = isExecutable(decision.action);
    const outcome = executable ? waitForOutcome(deps.nc, cluster, decision.id, deps.outcomeWaitMs) : null;
    try {
      await jetstream(deps.nc).publish(decisionSubject(cluster), JSON.stringify(decision), { msgID: decisionMsgId(decision.id) });
    } catch (err) {
      outcome?.cancel();
      throw err;
    }
    deps.onDecision?.(decision.action, cluster);
    log.info(
      { cluster, decisionId: decision.id, action: decision.action, oldSizeMb: decision.old_size_mb, newSizeMb: decision.new_size_mb },
      'manual analyze published a decision (rate limits bypassed)',
    );
    if (!outcome) {
      return { ...base, decision_id: decision.id, reason: `${decision.action} recorded; not executed (${decision.reason})` };
    }
    const result = await outcome.promise;
    return {
      ...base,
      applied: result?.status === 'applied',
      decision_id: decision.id,
      apply_status: result?.status ?? null,
      apply_error: result?.error ?? null,
      max_wal_size_mb: result?.max_wal_size_mb ?? null,
      reason: result ? null : `the applier has not reported within ${deps.outcomeWaitMs / 1000} s (is an applier serving ${cluster}? see walrus watch)`,
    };
  }
}

function waitForOutcome(nc: NatsConnection, cluster: string, decisionId: string, timeoutMs: number) {
  const sub = nc.subscribe(appliedSubject(cluster));
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<{ status: string; error: string | null; max_wal_size_mb: number | null } | null>((resolve) => {
    timer = setTimeout(() => {
      sub.unsubscribe();
      resolve(null);
    }, timeoutMs);
    void (async () => {
      for await (const m of sub) {
        try {
          const r = ApplyResultV1.safeParse(m.json());
          if (r.success && r.data.decision_id === decisionId) {
            clearTimeout(timer);
            sub.unsubscribe();
            resolve(r.data);
            return;
          }
        } catch {
          // not JSON: not an ApplyResult of ours
        }
      }
      resolve(null);
    })();
  });
  return {
    promise,
    cancel: () => {
      clearTimeout(timer);
      sub.unsubscribe();
    },
  };
}

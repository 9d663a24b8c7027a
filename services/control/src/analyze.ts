import type { NatsConnection } from '@nats-io/transport-node';
import {
  appliedSubject,
  ApplyResultV1,
  isExecutable,
  recommend,
  type AnalyzeResult,
  type ApplyResult,
  type Policy,
  type Recommendation,
  type Sample,
} from '@walrus/core';
import type { Logger } from '@walrus/runtime';
import type { Deciders } from './deciders.js';
import type { Sources } from './sources.js';

export interface AnalyzeDeps {
  nc: NatsConnection;
  sources: Sources;
  deciders: Deciders;
  defaults: Policy;
  now: () => Date;
  log: Logger;
  /** How long analyze with apply may take in all (the decider's answer, then the applier's outcome) before answering without the outcome. */
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

const unapplied = (recommendation: Recommendation) => ({
  analyzed: recommendation.action !== 'error',
  recommendation,
  applied: false,
  decision_id: null,
  apply_status: null,
  apply_error: null,
  max_wal_size_mb: null,
});

/**
 * Evaluates one cluster now. Without `apply` this process evaluates a copy
 * of the stored state and changes nothing. With `apply`, a decider does the
 * change (deciders alone write walrus_state and publish decisions): it
 * evaluates with the rate limits bypassed (pg_walrus's
 * walrus.analyze(apply := true)), saves the state, publishes the decision
 * (requests.ts in the decider); this process only hands it the live
 * statistics, when it has them, and waits for the applier's outcome.
 */
export async function analyze(deps: AnalyzeDeps, cluster: string, apply: boolean): Promise<AnalyzeResult> {
  const { sources, now } = deps;
  const fresh = await freshSample(sources, cluster, now);
  if (!apply) {
    const { state } = await sources.state(cluster);
    const { recommendation } = recommend({ cluster, state, sample: fresh.sample, sampleSource: fresh.source, defaults: deps.defaults, now: now().toISOString() });
    return { ...unapplied(recommendation), reason: null };
  }

  const started = performance.now();
  // Listen before asking: the applier may report within milliseconds of the decider's publish.
  const outcomes = watchOutcomes(deps.nc, cluster);
  try {
    // Without a live read, the decider takes the last sample from the stream itself.
    const r = await deps.deciders.analyze({ cluster, sample: fresh.source === 'live' ? fresh.sample : null });
    const base = unapplied(r.recommendation);
    const decision = r.decision;
    if (!decision) return { ...base, reason: r.reason };
    deps.onDecision?.(decision.action, cluster);
    if (!isExecutable(decision.action)) {
      return { ...base, decision_id: decision.id, reason: notes(`${decision.action} recorded; not executed (${decision.reason})`, r.reason) };
    }
    const waitMs = Math.max(1000, deps.outcomeWaitMs - (performance.now() - started));
    // A missed message (a reconnect in between) is still on the stream.
    const result = (await outcomes.wait(decision.id, waitMs)) ?? (await sources.lastApplied(cluster).then((a) => (a?.decision_id === decision.id ? a : null)));
    return {
      ...base,
      applied: result?.status === 'applied',
      decision_id: decision.id,
      apply_status: result?.status ?? null,
      apply_error: result?.error ?? null,
      max_wal_size_mb: result?.max_wal_size_mb ?? null,
      reason: notes(result ? null : `the applier has not reported within ${Math.round(deps.outcomeWaitMs / 1000)} s (is an applier serving ${cluster}? see walrus watch)`, r.reason),
    };
  } finally {
    outcomes.close();
  }
}

function notes(...texts: Array<string | null>): string | null {
  const kept = texts.filter((t): t is string => t !== null && t !== '');
  return kept.length > 0 ? kept.join('; ') : null;
}

/** The cluster's outcomes from now on, kept until asked for by decision id (the id is known only once the decider answers). */
function watchOutcomes(nc: NatsConnection, cluster: string) {
  const early = new Map<string, ApplyResult>();
  let waiting: { id: string; done: (r: ApplyResult | null) => void } | null = null;
  const sub = nc.subscribe(appliedSubject(cluster), {
    callback: (err, m) => {
      if (err) return;
      let parsed;
      try {
        parsed = ApplyResultV1.safeParse(m.json());
      } catch {
        return; // not JSON: not an ApplyResult of ours
      }
      if (!parsed.success) return;
      if (waiting?.id === parsed.data.decision_id) waiting.done(parsed.data);
      else early.set(parsed.data.decision_id, parsed.data);
    },
  });
  return {
    wait(id: string, timeoutMs: number): Promise<ApplyResult | null> {
      const seen = early.get(id);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const timer = setTimeout(() => waiting?.done(null), timeoutMs);
        waiting = {
          id,
          done: (r) => {
            clearTimeout(timer);
            waiting = null;
            resolve(r);
          },
        };
      });
    },
    close: () => sub.unsubscribe(),
  };
}

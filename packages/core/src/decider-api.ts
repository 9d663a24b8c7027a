import { z } from 'zod';
import type { Recommendation, ResetResult } from './api.js';
import { ClusterId } from './cluster-id.js';
import { sampleAhead } from './engine/clock.js';
import { SampleV1, type Decision, type Sample } from './schemas.js';

/**
 * What the deciders answer besides their samples: the two requests that
 * change a cluster's state outside the sample flow (`analyze --apply`,
 * `reset`). Deciders alone publish decisions and write walrus_state, so the
 * control service asks one of them (plain NATS request/reply, queue group
 * DECIDER_QUEUE: exactly one decider answers each request).
 *
 * The subjects are in the deciders' own namespace, not under walrus.api.>,
 * which the users of the `walrus` command may publish to: only the control
 * service's user may send these (walrus nats-config).
 */
export const DECIDER_API_PREFIX = 'walrus.decider';
export const DECIDER_QUEUE = 'walrus-decider';

export const DECIDER_REQUESTS = ['analyze', 'reset'] as const;
export type DeciderRequest = (typeof DECIDER_REQUESTS)[number];
export const deciderSubject = (request: DeciderRequest): string => `${DECIDER_API_PREFIX}.${request}`;

/**
 * Evaluate the cluster now with the rate limits bypassed, save, publish.
 * `sample`: statistics the control service read live from the cluster; null
 * when it has no connection to it (the decider then takes the last sample on
 * the stream). A decider checks a given sample (its cluster, its time) and
 * evaluates it with the walrus.* settings of the collector's last sample, not
 * with the request's (docs/SECURITY.md, "Threat model").
 */
export const DeciderAnalyzeRequest = z.strictObject({
  cluster: ClusterId,
  sample: SampleV1.nullable().default(null),
});
export type DeciderAnalyzeRequest = z.infer<typeof DeciderAnalyzeRequest>;

export const DeciderResetRequest = z.strictObject({ cluster: ClusterId });
export type DeciderResetRequest = z.infer<typeof DeciderResetRequest>;

export interface DeciderAnalyzeResult {
  /** What the evaluation found (with the rate limit that would hold an automatic change back). */
  recommendation: Recommendation;
  /** The decision published on walrus.decision.<cluster> after the state was saved; null when there was nothing to apply. */
  decision: Decision | null;
  /** Why nothing was published, or what the caller should know about the evaluation; null otherwise. */
  reason: string | null;
}

export type DeciderResetResult = ResetResult;

export type ManualSample =
  | { ok: true; sample: Sample; source: 'live' | 'stream'; note: string | null }
  | { ok: true; sample: null; source: null; note: null }
  | { ok: false; reason: string };

/**
 * The statistics a decider evaluates for `analyze --apply`: the request's
 * live sample when it is sound, else the collector's last sample of the
 * cluster (`stored`, read by the decider from the stream); null when
 * there is neither (the evaluation then says so).
 *
 * A live sample is refused when it names another cluster or is dated more
 * than `maxSkewMs` after `nowMs` (WALRUS_MAX_CLOCK_SKEW_SEC, the tolerance
 * the deciders hold every sample to, engine/clock.ts: a sample from the
 * future would make the decider ignore every real sample until that time);
 * a stored sample dated so far ahead is not taken either (the decider that
 * received it dead-lettered it). One older than the stored sample is set
 * aside for the stored one. And it is
 * evaluated with the walrus.* settings of the stored sample (none: the
 * service defaults), never its own: the request comes from the control
 * service, whose credentials must not be enough to raise walrus.max or
 * change the algorithm. What the request can still forge is bounded by the
 * cluster's own policy and the applier's bounds (docs/SECURITY.md, "Threat model").
 */
export function manualSample(cluster: string, given: Sample | null, storedAny: Sample | null, nowMs: number, maxSkewMs: number): ManualSample {
  if (given) {
    if (given.cluster !== cluster) return { ok: false, reason: `the sample is of cluster ${given.cluster}, the request of ${cluster}` };
    const ahead = sampleAhead(given, nowMs, maxSkewMs);
    if (ahead !== null) return { ok: false, reason: `the live sample is refused: ${ahead}` };
  }
  const stored = storedAny && sampleAhead(storedAny, nowMs, maxSkewMs) === null ? storedAny : null;
  if (!given || (stored && Date.parse(stored.collected_at) >= Date.parse(given.collected_at))) {
    return stored ? { ok: true, sample: stored, source: 'stream', note: null } : { ok: true, sample: null, source: null, note: null };
  }
  const trusted = stored?.settings ?? {};
  const note = sameSettings(given.settings, trusted)
    ? null
    : `the cluster's walrus.* settings differ from those of its last sample${stored ? ` (${stored.collected_at})` : ' (none yet: service defaults)'}; ` +
      'a decider evaluates with the settings the collector reported, so the new ones apply from the next sample';
  return { ok: true, sample: { ...given, settings: trusted }, source: 'live', note };
}

function sameSettings(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

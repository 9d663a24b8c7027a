import type { Recommendation, RecommendedAction } from './api.js';
import { resolvePolicy } from './config/overlay.js';
import type { Policy } from './config/policy.js';
import { initialState, type ClusterState } from './engine/state/current.js';
import { manualStep, type ManualStepResult } from './engine/step.js';
import type { Sample } from './schemas.js';

export interface RecommendInput {
  cluster: string;
  /** The decider's stored state; null when it has none (never sampled, or reset). */
  state: ClusterState | null;
  sample: Sample | null;
  sampleSource: 'live' | 'stream' | null;
  defaults: Policy;
  now: string;
  /** When JetStream stored a sample from the stream (epoch ms); a live sample never was. */
  storedAtMs?: number | null;
}

export interface RecommendOutput {
  recommendation: Recommendation;
  /** The evaluation with rate limits bypassed: what `analyze --apply` publishes and saves. */
  manual: ManualStepResult | null;
}

/**
 * pg_walrus's data-quality score: 50, +20 with more than 10 requested
 * checkpoints counted, +15 after a quiet interval, +15 with a baseline;
 * at most 50 without a baseline, 0 without statistics.
 */
export function confidence(state: ClusterState | null, sample: Sample | null): number {
  if (!sample) return 0;
  let score = 50;
  if (sample.checkpoints_requested > 10) score += 20;
  if ((state?.quietIntervals ?? 0) > 0) score += 15;
  const baseline = state?.prevRequested ?? null;
  if (baseline !== null && baseline > 0) score += 15;
  return baseline === null ? Math.min(score, 50) : score;
}

/**
 * What the decider would do with these statistics now, without changing
 * anything: the pure engine on a copy of the stored state. The change itself
 * is computed with the rate limits bypassed (as analyze-with-apply does);
 * whether an automatic change would be held back is reported beside it.
 */
export function recommend(input: RecommendInput): RecommendOutput {
  const { cluster, sample, defaults } = input;
  const base = {
    cluster,
    confidence: confidence(input.state, sample),
    forced_checkpoints: null,
    blocked_by: null,
    blocked_until: null,
    sample_source: input.sampleSource,
    sample_at: sample?.collected_at ?? null,
  };
  if (!sample) {
    return {
      manual: null,
      recommendation: {
        ...base,
        current_size_mb: null,
        recommended_size_mb: null,
        action: 'error',
        reason: `no sample of cluster ${cluster} yet: is a collector watching it?`,
        dry_run: defaults.dryRun,
      },
    };
  }
  const { policy } = resolvePolicy(defaults, sample.settings);
  const current = sample.max_wal_size_mb;
  const none = (action: RecommendedAction, reason: string, extra: Partial<Recommendation> = {}): RecommendOutput => ({
    manual: null,
    recommendation: { ...base, current_size_mb: current, recommended_size_mb: current, action, reason, dry_run: policy.dryRun, ...extra },
  });
  if (!policy.enable) return none('error', 'walrus.enable is off for this cluster');
  // Of a cluster of several members, only the primary's statistics are judged.
  const primary = input.state?.primary?.member;
  if (sample.member !== undefined && sample.in_recovery && primary !== undefined && sample.member !== primary) {
    return none(
      'none',
      `the freshest sample is of the standby ${sample.member}; decisions come from the primary ${primary}` +
        (input.sampleSource === 'stream' ? ' (give this control service the cluster in WALRUS_CLUSTERS to analyze the primary live)' : ''),
    );
  }

  const state = input.state ?? initialState();
  const manual = manualStep({ state, sample, defaults, nowMs: Date.parse(input.now), storedAtMs: input.storedAtMs ?? null });
  const kind = manual.outcome.kind;
  if (kind === 'ignored_old_sample') {
    return none(
      'none',
      `no statistics newer than the last evaluated sample (${state.lastSampleAt}); the next sample will tell` +
        (input.sampleSource === 'stream' ? ' (give this control service the cluster in WALRUS_CLUSTERS to analyze live)' : ''),
    );
  }
  if (kind === 'baseline') return none('none', 'awaiting baseline checkpoint count');
  const d = manual.decision;
  const change = manual.change;
  if (!d || !change) {
    const delta = state.prevRequested === null ? null : sample.checkpoints_requested - state.prevRequested;
    return { ...none('none', manual.outcome.reason, { forced_checkpoints: delta !== null && delta >= 0 ? delta : null }), manual };
  }
  return {
    manual,
    recommendation: {
      ...base,
      current_size_mb: current,
      recommended_size_mb: d.new_size_mb,
      action: change.action,
      reason: d.reason,
      forced_checkpoints: d.forced_checkpoints,
      blocked_by: manual.automaticBlock?.by ?? null,
      blocked_until: manual.automaticBlock?.until ?? null,
      dry_run: policy.dryRun,
    },
  };
}

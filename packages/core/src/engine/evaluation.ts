import type { Policy } from '../config/policy.js';
import type { Effect } from '../effect-schemas.js';
import type { Decision, Sample } from '../schemas.js';
import type { SlotBound } from './disk/slot-bound.js';
import type { BlockedBy } from './rate-limit.js';
import type { ClusterState } from './state/current.js';

/*
 * What the rules take and give for one sample: shared by the §4 rules
 * (counters.ts), the member rules (members.ts), their entry (evaluate.ts)
 * and step.ts around them.
 */

export type StepOutcomeKind =
  /** Dated too far ahead of the decider's clock: never evaluated (step.ts). */
  | 'clock_ahead'
  | 'ignored_old_sample'
  | 'baseline'
  | 'rebaseline'
  | 'standby'
  | 'disabled'
  | 'no_change'
  | 'decision'
  // Clusters with several members (members.ts):
  | 'failover'
  | 'split_brain';

/** What came of a sample, and why: for logs, metrics and status. */
export interface StepOutcome {
  kind: StepOutcomeKind;
  reason: string;
}

export interface EvaluateInput {
  state: ClusterState;
  /** A sample already validated with SampleV1. */
  sample: Sample;
  /** The cluster's effective policy (resolvePolicy of the service defaults and sample.settings). */
  policy: Policy;
  /** Wall-clock time, used for decided_at only; every rule uses sample.collected_at. */
  now: string;
  /**
   * A manual change (analyze with apply) bypasses the rate limits, as in
   * pg_walrus. It still counts as a change: it starts a cooldown and counts
   * in the hour window. Dry run still applies.
   */
  bypassRateLimits?: boolean;
}

export interface EvaluateResult {
  /** The state to store; the input state itself when the sample was ignored. */
  state: ClusterState;
  decision: Decision | null;
  outcome: StepOutcome;
  /** What the engine measured, for status and metrics (absent when no counters were judged: an ignored sample, a member rule). */
  insight?: Insight;
  /** The change the rules wanted, when they wanted one (the decision says it in words and metadata). */
  change?: WantedChange;
  /** Earlier changes judged at this sample (engine/effect.ts), to publish on walrus.effect.<cluster>. */
  effects?: Effect[];
  /** walrus.bound_slots: the keep size worked out for this sample (null: not bounded; absent: the rules did not get that far). */
  bound?: SlotBound | null;
}

export interface Insight {
  /** The active time profile, null when none. */
  profile: string | null;
  /** WAL rate (bytes/s) of the last whole checkpoint interval, its moving average, and the last sample interval's. */
  walRateBytesPerSec: number | null;
  walRateEmaBytesPerSec: number | null;
  lastIntervalRateBytesPerSec: number | null;
  /** The formula's size for the last whole interval's rate (MB). */
  requiredSizeMb: number | null;
}

/** A change of max_wal_size the rules wanted, and what became of it. */
export interface WantedChange {
  action: 'increase' | 'capped' | 'decrease';
  targetMb: number;
  /** The rate limit that held it back (the decision is `skipped`), or null. */
  blocked: { by: BlockedBy; until: string | null } | null;
  /** Dry run: recorded as `dry_run`, never executed. */
  dryRun: boolean;
}

import type { AlgorithmName, Policy } from '../../config/policy.js';
import type { Sample } from '../../schemas.js';
import type { CheckpointCauses } from '../checkpoint-causes.js';
import type { WalRateState } from '../wal-rate.js';

/**
 * A sizing algorithm only answers "how big should max_wal_size grow now, if at
 * all?". Everything around that answer is the engine's and the same for every
 * algorithm: baseline and re-baseline, standby/disabled, the walrus.max cap,
 * shrinking towards walrus.min_size, rate limits and dry run. That split is
 * what lets additive, adaptive (an EMA of the WAL rate), percentile or
 * proactive growth arrive as one new file without touching those rules.
 */
export interface SizingAlgorithm {
  readonly name: AlgorithmName;
  /**
   * Called once per evaluated interval (a primary with walrus.enable on and a
   * baseline). A proposal sends the interval down the grow path (quiet
   * intervals reset, cap, rate limits); null counts it as a quiet interval.
   */
  proposeGrowth(input: GrowInput): GrowResult;
  /**
   * Algorithms that size from the WAL rate may shrink towards that size
   * instead of by walrus.shrink_factor. Called only where the shared rules
   * allow a shrink at all (shrink_enable, enough quiet intervals, above
   * walrus.min_size); null = no shrink this interval.
   */
  proposeShrink?(input: GrowInput): GrowProposal | null;
}

/** What the engine measured about the cluster's WAL up to this sample. */
export interface WalView {
  /** The tracker after this sample (rates in bytes/s). */
  rate: WalRateState;
  /** How this interval's requested checkpoints split between WAL volume and other causes. */
  causes: CheckpointCauses;
  /** walrus.proactive_sizing resolved for this algorithm. */
  proactive: boolean;
  /**
   * WAL-caused checkpoints over the last checkpoint_timeout, at the current
   * size and since the last change (formula algorithms count these, so that
   * samples every second, seeing one each, still reach the threshold);
   * absent = this interval's only.
   */
  recentForced?: number;
  /**
   * Requested checkpoints (any cause) over the last checkpoint_timeout,
   * since the last change: what multiplicative and additive count, as
   * pg_walrus does per checkpoint_timeout (wal-rate.ts recentRequested);
   * absent = this interval's only.
   */
  recentRequested?: number;
}

/** What the engine remembers of the previous evaluated sample. */
export interface PreviousSample {
  collectedAt: string;
  walBytes: number;
}

export interface GrowInput {
  /** max_wal_size (MB) the cluster runs with now. */
  currentMb: number;
  /** Requested (forced) checkpoints counted in this interval; never negative. */
  delta: number;
  threshold: number;
  sample: Sample;
  /** The previous sample of this cluster, for rates over the interval (WAL bytes per second). */
  previous: PreviousSample | null;
  policy: Policy;
  /**
   * This algorithm's own state as it returned it last time (undefined the
   * first time). It is stored in the walrus_state KV bucket, so it must be
   * plain JSON.
   */
  state: unknown;
  /** WAL rate and checkpoint causes; always given by evaluate(), optional for direct callers. */
  wal?: WalView;
}

export interface GrowProposal {
  /** The size the algorithm asks for, before walrus.max; at most 2147483647. */
  calculatedMb: number;
  /** Human-readable cause, e.g. "3 forced checkpoints (threshold 2)". */
  reason: string;
  /** Details merged into the decision's metadata (snake_case keys). */
  metadata: Record<string, unknown>;
}

export interface GrowResult {
  proposal: GrowProposal | null;
  /** The algorithm's new private state; undefined stores nothing. */
  state: unknown;
}

import { MAX_WAL_SIZE_LIMIT_MB } from '../../schemas.js';
import { mbPerSec, requiredSizeMb } from '../wal-rate.js';
import { saturatingMultiplyMb } from './saturating.js';
import type { GrowInput, GrowProposal, GrowResult, WalView } from './types.js';

/*
 * The shared shape of the algorithms that size max_wal_size from the WAL
 * rate (adaptive, percentile): required = (1 + completion_target) x
 * (R x checkpoint_timeout + one segment), with R an estimate over whole
 * checkpoint intervals. They keep max_wal_size inside a band
 * [required, SHRINK_BAND x required]: below it they grow (to required x
 * headroom), above it they shrink (to the same), in between nothing changes,
 * which is what keeps a steady load from flapping.
 */

/** A formula algorithm shrinks only once max_wal_size exceeds the required size by this factor. */
export const SHRINK_BAND = 1.5;
/**
 * Early projection: the last sample interval's rate grows max_wal_size on its
 * own only when it needs ONSET_MARGIN x the current size and is ONSET_RATIO
 * times what the load wrote before (the last whole checkpoint interval's
 * rate and the previous sample interval's). WAL right after every checkpoint
 * is inflated by full-page images (1.5 to 2.5 x the cycle's average on
 * pgbench), so a projection from
 * a few seconds alone would grow at every checkpoint and shrink again; a new
 * load (a burst after a quiet period, a 32 MB default meeting a real
 * workload) is many times the last interval's rate and is caught at its
 * first sample. A load that rises less steeply is caught by the
 * whole-interval estimate one interval later, or by forced checkpoints.
 *
 * (The redo point in pg_control is the last *completed* checkpoint's: while
 * a spread checkpoint runs, the WAL since it legitimately reaches about
 * (1 + completion_target) cycles, so it cannot tell how close the next
 * forced checkpoint is.)
 */
export const ONSET_MARGIN = 1.5;
export const ONSET_RATIO = 3;

export interface RateEstimate {
  /** bytes/s over whole checkpoint intervals; null until one interval has been measured. */
  rate: number | null;
  /** What it is, for reasons: "EMA of the WAL rate", "p95 of 12 intervals". */
  label: string;
  /** How much above the required size to set max_wal_size when it changes. */
  headroom: number;
  metadata: Record<string, unknown>;
}

function causesMetadata(wal: WalView): Record<string, unknown> {
  const c = wal.causes;
  return {
    requested_checkpoints: c.requested,
    wal_caused_checkpoints: c.walCaused,
    other_checkpoints: c.other,
    checkpoint_causes_basis: c.basis,
    checkpoint_causes: c.reason,
  };
}

const sized = (requiredMb: number, headroom: number): number => Math.min(Math.ceil(requiredMb * headroom), MAX_WAL_SIZE_LIMIT_MB);

/**
 * Grow when WAL volume forced checkpoints (manual ones do not count), or,
 * with proactive sizing, before it does: when the whole-interval estimate or
 * a clearly higher new load (ONSET_MARGIN) needs more than the current size.
 */
export function formulaGrowth(input: GrowInput, estimate: RateEstimate): GrowResult['proposal'] {
  const { currentMb, threshold, sample, wal } = input;
  if (wal === undefined) return null;
  const last = wal.rate.lastRate;
  const basis = Math.max(estimate.rate ?? 0, last ?? 0);
  const requiredMb = requiredSizeMb(basis, sample);
  const metadata: Record<string, unknown> = {
    ...estimate.metadata,
    ...causesMetadata(wal),
    threshold,
    wal_rate_mb_per_s: estimate.rate === null ? null : mbPerSec(estimate.rate),
    last_interval_wal_rate_mb_per_s: last === null ? null : mbPerSec(last),
    required_size_mb: requiredMb,
    headroom: estimate.headroom,
  };
  const forced = wal.causes.walCaused;

  if (forced >= threshold) {
    // A rate is known from the first sample interval on; without one, size as pg_walrus would.
    const calculatedMb = last === null && estimate.rate === null ? saturatingMultiplyMb(currentMb, forced + 1) : sized(requiredMb, estimate.headroom);
    return {
      calculatedMb,
      reason: `${forced} checkpoints forced by WAL volume (threshold ${threshold}); ${estimate.label} needs ${requiredMb} MB, x ${estimate.headroom} headroom = ${calculatedMb} MB`,
      metadata: { ...metadata, trigger: 'forced_checkpoints', calculated_size_mb: calculatedMb },
    };
  }
  if (!wal.proactive) return null;

  const steadyMb = estimate.rate === null ? 0 : requiredSizeMb(estimate.rate, sample);
  const onsetMb = last === null ? 0 : requiredSizeMb(last, sample);
  // What the load wrote before: the last whole interval, or the sample interval before this one.
  const lastWhole = wal.rate.intervals.at(-1) ?? null;
  const before = Math.max(lastWhole ?? 0, wal.rate.prevLastRate ?? 0);
  const newLoad = last !== null && last > ONSET_RATIO * before;
  if (steadyMb > currentMb || (onsetMb > currentMb * ONSET_MARGIN && newLoad)) {
    const calculatedMb = sized(requiredMb, estimate.headroom);
    const why =
      steadyMb > currentMb
        ? `${estimate.label} needs ${steadyMb} MB`
        : `the last interval's WAL rate (${mbPerSec(last ?? 0)} MB/s, more than ${ONSET_RATIO} x the ${mbPerSec(before)} MB/s before) projects ${onsetMb} MB, more than ${ONSET_MARGIN} x the current ${currentMb} MB`;
    return {
      calculatedMb,
      reason: `proactive: ${why}; growing to ${calculatedMb} MB before WAL forces checkpoints`,
      metadata: { ...metadata, trigger: 'proactive', proactive: true, calculated_size_mb: calculatedMb },
    };
  }
  return null;
}

/** Shrink towards required x headroom once max_wal_size is above the band. */
export function formulaShrink(input: GrowInput, estimate: RateEstimate): GrowProposal | null {
  const { currentMb, sample, wal } = input;
  if (wal === undefined || estimate.rate === null) return null;
  // Not on an estimate from intervals with forced checkpoints: their rate
  // belongs to a regime (often including idle time before a load began) that
  // the current size has already ended. Wait for a calm interval.
  if ((wal.rate.pressuredTail ?? 0) > 0) return null;
  const requiredMb = requiredSizeMb(estimate.rate, sample);
  if (currentMb <= requiredMb * SHRINK_BAND) return null;
  const calculatedMb = sized(requiredMb, estimate.headroom);
  return {
    calculatedMb,
    reason: `${estimate.label} needs ${requiredMb} MB; ${currentMb} MB is more than ${SHRINK_BAND} x that, shrinking to ${calculatedMb} MB (x ${estimate.headroom} headroom)`,
    metadata: {
      ...estimate.metadata,
      ...causesMetadata(wal),
      wal_rate_mb_per_s: mbPerSec(estimate.rate),
      required_size_mb: requiredMb,
      headroom: estimate.headroom,
      shrink_band: SHRINK_BAND,
      calculated_size_mb: calculatedMb,
    },
  };
}

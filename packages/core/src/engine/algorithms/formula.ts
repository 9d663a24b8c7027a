import { MAX_WAL_SIZE_LIMIT_MB } from '../../schemas.js';
import type { Sample } from '../../schemas.js';
import { toMs } from '../time.js';
import { checkpointSegments, mbPerSec, PEAK_HOLD_INTERVALS, requiredSizeMb, segmentBytes, WHOLE_INTERVAL } from '../wal-rate.js';
import { saturatingMultiplyMb } from './saturating.js';
import type { GrowInput, GrowProposal, GrowResult, WalView } from './types.js';

/*
 * The shared shape of the algorithms that size max_wal_size from the WAL
 * rate (adaptive, percentile): required = the fewest whole WAL segments
 * that hold R x checkpoint_timeout before PostgreSQL forces a checkpoint
 * (wal-rate.ts requiredSizeMb, about (1 + completion_target) x (R x
 * checkpoint_timeout + 1 to 2 segments)), with R an estimate over whole
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
/**
 * Right after a timed checkpoint starts, every page a running load touches
 * again is written whole (full-page images): its WAL rate spikes for a few
 * seconds, up to about 3.4 x on pgbench at scale 20 (bench:quality's steady
 * shape grew 884 -> 2631 MB on one such 5 s interval, and shrank back 33 s
 * later). Within TIMED_SPIKE_SHARE of a checkpoint_timeout after the sample
 * interval in which a timed checkpoint started, an onset of no more than
 * TIMED_SPIKE_RATIO x what the load wrote before is that spike, not a new
 * load. A new load after a quiet period (many times what came before) is
 * still caught at once; one that only triples, a few seconds later by the
 * next samples or by forced checkpoints.
 */
export const TIMED_SPIKE_SHARE = 0.25;
export const TIMED_SPIKE_RATIO = 5;
/**
 * While the peak memory holds a peak that max_wal_size already allows for,
 * an onset projecting at most HELD_ONSET_MARGIN x what that peak needs is the
 * same load coming back (recurring bursts): its first second is inflated by
 * full-page images after the quiet period's timed checkpoint (about 2 x the
 * burst's rate on pgbench), and growing for it would only shrink again. A
 * clearly larger load is still caught at its first sample, a somewhat larger
 * one by the sliding rate or by forced checkpoints.
 */
export const HELD_ONSET_MARGIN = 2.5;
/**
 * A shrink bounded by the held peak takes this headroom at most: the peak is
 * already the maximum of the sliding rates (about 10 % above a steady
 * pgbench load's average), so adaptive's 1.2 on top of it would stack two
 * margins; much less and the same load coming back would need a little more
 * than the size and grow it again.
 */
export const PEAK_HEADROOM = 1.15;

/**
 * Early growth on one forced checkpoint: a single WAL-forced checkpoint is
 * below a threshold of 2, but when the sample interval it fell in wrote WAL
 * so fast that, with a full-page-image spike's share taken off (this factor,
 * the most seen on pgbench after a checkpoint), it would still force
 * `threshold` more within a checkpoint_timeout at the current size and needs
 * ONSET_MARGIN x that size, the threshold's count is certain to follow:
 * walrus grows at once instead of a sample later. At 32 MB and 30 MB/s
 * PostgreSQL forces a checkpoint every half second, and the second one is
 * still running at the next sample (judged only once it completes): waiting
 * for it cost two more forced checkpoints in bench:quality's steady shape.
 */
export const EARLY_SPIKE_FACTOR = 2.5;

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

/** The sliding rate when it covers a whole checkpoint interval, else null. */
export function wholeRecentRate(wal: WalView, sample: Sample): number | null {
  const recent = wal.rate.recentRate ?? null;
  return recent !== null && (wal.rate.recentSpanSec ?? 0) >= sample.checkpoint_timeout_s * WHOLE_INTERVAL ? recent : null;
}

/**
 * The last sample interval's rate, unless checkpoints that WAL did not cause
 * (CHECKPOINT commands) ran within the last checkpoint_timeout: each one makes
 * full-page images spike the WAL of the next second or two, so a spike
 * projected over a whole checkpoint_timeout would size for WAL that is never
 * written. Then a projection must have held over two consecutive sample
 * intervals (the lower of the two, against what the load wrote before both),
 * and never counts for less than the sliding rate over the last whole
 * interval (the spikes averaged over a checkpoint_timeout: the WAL actually
 * written). A new load after a lone CHECKPOINT is caught one sample later;
 * a load without CHECKPOINT commands is still trusted at its first sample.
 *
 * Within a checkpoint_timeout rather than "this sample interval or the one
 * before" because at a small max_wal_size (32 MB: CheckPointSegments 1) the
 * redo distance cannot rule out WAL as the cause of a CHECKPOINT that
 * happens to cross a segment boundary: a storm shows some of its checkpoints
 * as possibly WAL-caused, and the spikes after those are no more trustworthy.
 */
export function trustedLastRate(wal: WalView, sample: Sample): { rate: number | null; discounted: boolean; before: number | null } {
  const last = wal.rate.lastRate;
  const prev = wal.rate.prevLastRate ?? null;
  const otherAt = wal.rate.lastOtherAt ?? null;
  const timeoutMs = sample.checkpoint_timeout_s * 1000;
  const storm = wal.causes.other > 0 || (otherAt !== null && toMs(sample.collected_at) - toMs(otherAt) < timeoutMs);
  if (last === null || !storm) return { rate: last, discounted: false, before: prev };
  const persisted = Math.min(last, prev ?? 0);
  return { rate: Math.max(persisted, wholeRecentRate(wal, sample) ?? 0), discounted: true, before: wal.rate.prevPrevLastRate ?? null };
}

/** The held peak's rate (bytes/s), or 0: what a formula shrink must still allow for. */
export function heldPeakRate(wal: WalView, sample: Sample): number {
  const peak = wal.rate.peak;
  if (peak === undefined || peak === null) return 0;
  const holdMs = PEAK_HOLD_INTERVALS * sample.checkpoint_timeout_s * 1000;
  return toMs(sample.collected_at) - toMs(peak.at) < holdMs ? peak.rate : 0;
}

/**
 * Grow when WAL volume forced checkpoints (manual ones do not count), or,
 * with proactive sizing, before it does: when the whole-interval estimate or
 * a clearly higher new load (ONSET_MARGIN) needs more than the current size.
 */
export function formulaGrowth(input: GrowInput, estimate: RateEstimate): GrowResult['proposal'] {
  const { currentMb, threshold, sample, wal } = input;
  if (wal === undefined) return null;
  const trusted = trustedLastRate(wal, sample);
  const last = trusted.rate;
  // The sliding rate over the last whole checkpoint_timeout: fast up, without waiting for the estimate to catch up.
  const recent = wholeRecentRate(wal, sample);
  const basis = Math.max(estimate.rate ?? 0, last ?? 0, recent ?? 0);
  const requiredMb = requiredSizeMb(basis, sample);
  const metadata: Record<string, unknown> = {
    ...estimate.metadata,
    ...causesMetadata(wal),
    threshold,
    wal_rate_mb_per_s: estimate.rate === null ? null : mbPerSec(estimate.rate),
    recent_wal_rate_mb_per_s: recent === null ? null : mbPerSec(recent),
    last_interval_wal_rate_mb_per_s: last === null ? null : mbPerSec(last),
    required_size_mb: requiredMb,
    headroom: estimate.headroom,
    ...(trusted.discounted ? { last_interval_discounted: true, raw_last_interval_wal_rate_mb_per_s: mbPerSec(wal.rate.lastRate ?? 0) } : {}),
    recent_forced_checkpoints: wal.recentForced ?? wal.causes.walCaused,
  };
  // Over the last checkpoint_timeout (at this size, since the last change), not per sample: samples every second see one each.
  const forced = Math.max(wal.causes.walCaused, wal.recentForced ?? 0);

  if (forced >= threshold) {
    // The forced checkpoints prove the WAL real: a last interval discounted for a CHECKPOINT command's
    // spike never counts for less than its rate deflated as the early rule does (at a load's first
    // sample "the lower of the last two intervals" is the quiet one before it: sysbench grew 32 -> 77 MB).
    const deflated = trusted.discounted ? (wal.rate.lastRate ?? 0) / EARLY_SPIKE_FACTOR : 0;
    const forcedMb = deflated > basis ? requiredSizeMb(deflated, sample) : requiredMb;
    const label = deflated > basis ? `the last interval's WAL rate with a full-page-image spike's share taken off (${mbPerSec(deflated)} MB/s)` : estimate.label;
    // A rate is known from the first sample interval on; without one, size as pg_walrus would.
    const calculatedMb = last === null && estimate.rate === null ? saturatingMultiplyMb(currentMb, forced + 1) : sized(forcedMb, estimate.headroom);
    return {
      calculatedMb,
      reason: `${forced} checkpoints forced by WAL volume over the last checkpoint_timeout (threshold ${threshold}); ${label} needs ${forcedMb} MB, x ${estimate.headroom} headroom = ${calculatedMb} MB`,
      metadata: { ...metadata, required_size_mb: forcedMb, trigger: 'forced_checkpoints', calculated_size_mb: calculatedMb },
    };
  }
  const early = earlyGrowth(input, wal, forced);
  if (early !== null) {
    const earlyRequiredMb = requiredSizeMb(Math.max(basis, early.deflatedRate), sample);
    const calculatedMb = sized(earlyRequiredMb, estimate.headroom);
    return {
      calculatedMb,
      reason:
        `1 checkpoint forced by WAL volume over the last checkpoint_timeout (threshold ${threshold}), and the last interval's WAL rate (${mbPerSec(wal.rate.lastRate ?? 0)} MB/s, ` +
        `${mbPerSec(early.deflatedRate)} MB/s with a full-page-image spike's share taken off) forces about ${early.projected} more ` +
        `per checkpoint_timeout at ${currentMb} MB and needs ${early.needMb} MB: growing now to ${calculatedMb} MB (${earlyRequiredMb} MB x ${estimate.headroom} headroom) rather than after the next`,
      metadata: {
        ...metadata,
        required_size_mb: earlyRequiredMb,
        trigger: 'forced_checkpoints',
        early: true,
        projected_forced_checkpoints: early.projected,
        calculated_size_mb: calculatedMb,
      },
    };
  }
  if (!wal.proactive) return null;

  // The whole-interval estimates: the algorithm's, and the sliding rate (which is also what a discounted projection becomes).
  const steadyRate = Math.max(estimate.rate ?? -1, recent ?? -1);
  const steadyMb = steadyRate < 0 ? 0 : requiredSizeMb(steadyRate, sample);
  const onsetMb = last === null ? 0 : requiredSizeMb(last, sample);
  // What the load wrote before: the last whole interval, or the sample interval before this one (before the two, when discounted).
  const lastWhole = wal.rate.intervals.at(-1) ?? null;
  const before = Math.max(lastWhole ?? 0, trusted.before ?? 0);
  const newLoad = last !== null && last > ONSET_RATIO * before;
  // A load coming back within the peak memory (recurring bursts) is no new load: the size already holds its peak.
  const peakRate = heldPeakRate(wal, sample);
  const peakMb = peakRate > 0 ? requiredSizeMb(peakRate, sample) : null;
  const returning = peakMb !== null && currentMb >= peakMb && onsetMb <= HELD_ONSET_MARGIN * peakMb;
  const timedAt = wal.rate.lastTimedAt ?? null;
  const afterTimed = timedAt !== null && toMs(sample.collected_at) - toMs(timedAt) < TIMED_SPIKE_SHARE * sample.checkpoint_timeout_s * 1000;
  const timedSpike = afterTimed && last !== null && last <= TIMED_SPIKE_RATIO * before;
  const onset = onsetMb > currentMb * ONSET_MARGIN && newLoad && !returning && !timedSpike;
  if (steadyMb > currentMb || onset) {
    const calculatedMb = sized(requiredMb, estimate.headroom);
    // Named by what sizes it: the onset projects more than the whole-interval estimates.
    const why =
      !onset || steadyMb >= onsetMb
        ? `${recent !== null && recent > (estimate.rate ?? -1) ? `the WAL rate over the last checkpoint_timeout${trusted.discounted ? ' (full-page-image spikes after CHECKPOINT commands averaged)' : ''}` : estimate.label} needs ${steadyMb} MB`
        : `the last interval's WAL rate${trusted.discounted ? ' (the lower of the last two, after a CHECKPOINT command)' : ''} (${mbPerSec(last ?? 0)} MB/s, more than ${ONSET_RATIO} x the ${mbPerSec(before)} MB/s before) projects ${onsetMb} MB, more than ${ONSET_MARGIN} x the current ${currentMb} MB`;
    return {
      calculatedMb,
      reason: `proactive: ${why}; growing to ${calculatedMb} MB before WAL forces checkpoints`,
      metadata: { ...metadata, trigger: 'proactive', proactive: true, calculated_size_mb: calculatedMb },
    };
  }
  return null;
}

/**
 * EARLY_SPIKE_FACTOR's rule: one WAL-forced checkpoint confirmed (fewer than
 * the threshold), and the last sample interval's rate, deflated, forcing
 * `threshold` more within a checkpoint_timeout and needing ONSET_MARGIN x
 * the current size. Null when it does not apply.
 */
function earlyGrowth(input: GrowInput, wal: WalView, forced: number): { deflatedRate: number; projected: number; needMb: number } | null {
  const { currentMb, threshold, sample } = input;
  const raw = wal.rate.lastRate;
  if (forced < 1 || forced >= threshold || raw === null || raw <= 0) return null;
  const seg = segmentBytes(sample);
  const deflatedRate = raw / EARLY_SPIKE_FACTOR;
  // A backend asks for a checkpoint once CheckPointSegments - 1 segments (at least one) follow the redo point's.
  const perForced = Math.max(1, checkpointSegments(currentMb, sample.checkpoint_completion_target, seg) - 1) * seg;
  const projected = Math.floor((deflatedRate * sample.checkpoint_timeout_s) / perForced);
  const needMb = requiredSizeMb(deflatedRate, sample);
  if (projected < threshold || needMb <= ONSET_MARGIN * currentMb) return null;
  return { deflatedRate, projected, needMb };
}

/**
 * The formula algorithms' own state (ClusterState.algo under their name):
 * when a sample last proposed a growth. Older states have none.
 */
export interface FormulaState {
  busyAt: string;
}

function busyAt(state: unknown): string | null {
  if (typeof state !== 'object' || state === null || !('busyAt' in state)) return null;
  return typeof state.busyAt === 'string' ? state.busyAt : null;
}

/** formulaGrowth, remembering when it last proposed something. */
export function formulaGrowthResult(input: GrowInput, estimate: RateEstimate): GrowResult {
  const proposal = formulaGrowth(input, estimate);
  const before = busyAt(input.state);
  const state: FormulaState | undefined = proposal ? { busyAt: input.sample.collected_at } : before === null ? undefined : { busyAt: before };
  return { proposal, state };
}

/**
 * Shrink towards required x headroom once max_wal_size is above the band.
 *
 * Quiet intervals are counted per sample, and samples come every second
 * under pressure: walrus.shrink_intervals of them can be a few seconds. So
 * a formula shrink also needs one whole checkpoint_timeout since the last
 * sample that proposed a growth: by then the sliding rate, hence the peak
 * memory, has measured a whole interval of the load that grew the size,
 * and the shrink cannot go below what that load needs (the held peak). At
 * one sample per checkpoint_timeout this adds nothing to shrink_intervals.
 */
export function formulaShrink(input: GrowInput, estimate: RateEstimate): GrowProposal | null {
  const { currentMb, sample, wal } = input;
  if (wal === undefined || estimate.rate === null) return null;
  const busy = busyAt(input.state);
  if (busy !== null && toMs(sample.collected_at) - toMs(busy) < sample.checkpoint_timeout_s * 1000) return null;
  // Not on an estimate from intervals with forced checkpoints: their rate
  // belongs to a regime (often including idle time before a load began) that
  // the current size has already ended. Wait for a calm interval.
  if ((wal.rate.pressuredTail ?? 0) > 0) return null;
  // Fast up, slow down: never below what the held peak needs (wal-rate.ts PEAK_HOLD_INTERVALS).
  const peak = heldPeakRate(wal, sample);
  const byPeak = peak > estimate.rate;
  const rate = Math.max(estimate.rate, peak);
  const requiredMb = requiredSizeMb(rate, sample);
  if (currentMb <= requiredMb * SHRINK_BAND) return null;
  // The peak is a maximum of sliding rates, not an average: the smaller headroom on top of it.
  const headroom = byPeak ? Math.min(estimate.headroom, PEAK_HEADROOM) : estimate.headroom;
  const calculatedMb = sized(requiredMb, headroom);
  const what = byPeak
    ? `the peak WAL rate of the last ${PEAK_HOLD_INTERVALS} checkpoint intervals (${mbPerSec(peak)} MB/s, held above ${estimate.label})`
    : estimate.label;
  return {
    calculatedMb,
    reason: `${what} needs ${requiredMb} MB; ${currentMb} MB is more than ${SHRINK_BAND} x that, shrinking to ${calculatedMb} MB (x ${headroom} headroom)`,
    metadata: {
      ...estimate.metadata,
      ...causesMetadata(wal),
      held_peak_wal_rate_mb_per_s: mbPerSec(peak),
      wal_rate_mb_per_s: mbPerSec(rate),
      required_size_mb: requiredMb,
      headroom,
      shrink_band: SHRINK_BAND,
      calculated_size_mb: calculatedMb,
    },
  };
}

import { percentileOf } from '../../percentile.js';
import { formulaGrowthResult, formulaShrink, type RateEstimate } from './formula.js';
import type { GrowInput, SizingAlgorithm } from './types.js';

/**
 * The percentile is most of the margin already; a little more keeps a load
 * that creeps up by a few percent from growing max_wal_size in small steps.
 */
export const PERCENTILE_HEADROOM = 1.1;

function estimate(input: GrowInput): RateEstimate {
  const intervals = input.wal?.rate.intervals ?? [];
  const p = input.policy.targetPercentile;
  return {
    rate: percentileOf(intervals, p),
    label: `p${p} of the WAL rate over the last ${intervals.length} checkpoint intervals`,
    headroom: PERCENTILE_HEADROOM,
    metadata: { target_percentile: p, intervals_measured: intervals.length },
  };
}

/**
 * Sizes for the walrus.target_percentile of the WAL rate per whole
 * checkpoint interval over the recent window (the engine keeps the last
 * INTERVAL_HISTORY intervals): robust to one odd interval. Recurring peaks
 * are remembered by the engine's peak memory (wal-rate.ts PEAK_HOLD_INTERVALS)
 * rather than by the window: once the load has stayed well below its peak
 * for the hold, the window starts over from the current rate, so a load
 * that went does not keep max_wal_size up for 20 intervals.
 */
export const percentile: SizingAlgorithm = {
  name: 'percentile',
  proposeGrowth(input) {
    return formulaGrowthResult(input, estimate(input));
  },
  proposeShrink(input) {
    return formulaShrink(input, estimate(input));
  },
};

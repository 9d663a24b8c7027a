import { formulaGrowthResult, formulaShrink, type RateEstimate } from './formula.js';
import type { GrowInput, SizingAlgorithm } from './types.js';

/** adaptive sets required x HEADROOM: the moving average lags a rising load. */
export const ADAPTIVE_HEADROOM = 1.2;

function estimate(input: GrowInput): RateEstimate {
  const ema = input.wal?.rate.ema ?? null;
  return {
    rate: ema,
    label: `the moving average of the WAL rate (alpha ${input.policy.emaAlpha} per checkpoint interval)`,
    headroom: ADAPTIVE_HEADROOM,
    metadata: { ema_alpha: input.policy.emaAlpha, intervals_measured: input.wal?.rate.intervals.length ?? 0 },
  };
}

/**
 * An exponential moving average of the WAL rate over whole checkpoint
 * intervals (walrus.ema_alpha) into the formula, with headroom. Grows for
 * checkpoints forced by WAL volume, and proactively before them; shrinks
 * back towards the formula when the load goes. Its state lives in the
 * engine's WAL tracker.
 */
export const adaptive: SizingAlgorithm = {
  name: 'adaptive',
  proposeGrowth(input) {
    return formulaGrowthResult(input, estimate(input));
  },
  proposeShrink(input) {
    return formulaShrink(input, estimate(input));
  },
};

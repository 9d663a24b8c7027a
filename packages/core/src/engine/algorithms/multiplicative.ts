import { saturatingMultiplyMb } from './saturating.js';
import type { SizingAlgorithm } from './types.js';

/**
 * pg_walrus / pg_walsizer: when `delta` forced checkpoints happened in one
 * interval (delta >= threshold), the WAL of that interval needed about
 * (delta + 1) times the current max_wal_size to be absorbed by one timed
 * checkpoint, so grow to current * (delta + 1). Stateless.
 */
export const multiplicative: SizingAlgorithm = {
  name: 'multiplicative',
  proposeGrowth({ currentMb, delta, threshold }) {
    if (delta < threshold) return { proposal: null, state: undefined };
    const multiplier = delta + 1;
    const calculatedMb = saturatingMultiplyMb(currentMb, multiplier);
    return {
      proposal: {
        calculatedMb,
        reason: `${delta} forced checkpoints in the interval (threshold ${threshold}): ${currentMb} MB x ${multiplier} = ${calculatedMb} MB`,
        metadata: { delta, multiplier, threshold, calculated_size_mb: calculatedMb },
      },
      state: undefined,
    };
  },
};

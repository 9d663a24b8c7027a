import { countedCheckpoints } from './counted.js';
import { saturatingMultiplyMb } from './saturating.js';
import type { SizingAlgorithm } from './types.js';

/**
 * pg_walrus / pg_walsizer: when `delta` forced checkpoints happened in one
 * interval (delta >= threshold), the WAL of that interval needed about
 * (delta + 1) times the current max_wal_size to be absorbed by one timed
 * checkpoint, so grow to current * (delta + 1). Counted per
 * checkpoint_timeout however often samples come (counted.ts). Stateless.
 */
export const multiplicative: SizingAlgorithm = {
  name: 'multiplicative',
  proposeGrowth(input) {
    const { currentMb, delta, threshold } = input;
    const { count, over } = countedCheckpoints(input);
    if (count < threshold) return { proposal: null, state: undefined };
    const multiplier = count + 1;
    const calculatedMb = saturatingMultiplyMb(currentMb, multiplier);
    return {
      proposal: {
        calculatedMb,
        reason: `${count} forced checkpoints ${over} (threshold ${threshold}): ${currentMb} MB x ${multiplier} = ${calculatedMb} MB`,
        metadata: { delta, ...(count !== delta ? { counted_checkpoints: count } : {}), multiplier, threshold, calculated_size_mb: calculatedMb },
      },
      state: undefined,
    };
  },
};

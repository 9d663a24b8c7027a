import { MAX_WAL_SIZE_LIMIT_MB } from '../../schemas.js';
import { countedCheckpoints } from './counted.js';
import type { SizingAlgorithm } from './types.js';

/**
 * Like pg_walrus, triggered by `delta >= threshold` forced checkpoints, but
 * grows by a fixed step per forced checkpoint instead of multiplying:
 * current + delta x walrus.additive_increment_mb (saturating). Gentler on
 * large sizes, slower from small ones. Stateless.
 */
export const additive: SizingAlgorithm = {
  name: 'additive',
  proposeGrowth(input) {
    const { currentMb, delta, threshold, policy } = input;
    const { count, over } = countedCheckpoints(input);
    if (count < threshold) return { proposal: null, state: undefined };
    const increment = policy.additiveIncrementMb;
    const calculatedMb = Math.min(currentMb + count * increment, MAX_WAL_SIZE_LIMIT_MB);
    return {
      proposal: {
        calculatedMb,
        reason: `${count} forced checkpoints ${over} (threshold ${threshold}): ${currentMb} MB + ${count} x ${increment} MB = ${calculatedMb} MB`,
        metadata: { delta, ...(count !== delta ? { counted_checkpoints: count } : {}), threshold, additive_increment_mb: increment, calculated_size_mb: calculatedMb },
      },
      state: undefined,
    };
  },
};

import { describe, expect, it } from 'vitest';
import { policy, sample } from '../../testing/builders.js';
import { multiplicative } from './multiplicative.js';
import { ALGORITHM_NAMES, isAlgorithmName } from '../../config/policy.js';
import { getAlgorithm } from './registry.js';
import type { GrowInput } from './types.js';

const input = (currentMb: number, delta: number, threshold = 2): GrowInput => ({
  currentMb,
  delta,
  threshold,
  sample: sample(),
  previous: null,
  policy: policy(),
  state: undefined,
});

describe('algorithms - multiplicative', () => {
  it('algorithms - proposes current x (delta + 1) from the threshold on', () => {
    expect(multiplicative.proposeGrowth(input(1024, 3)).proposal).toMatchObject({
      calculatedMb: 4096,
      metadata: { delta: 3, multiplier: 4, threshold: 2, calculated_size_mb: 4096 },
    });
    expect(multiplicative.proposeGrowth(input(1024, 1)).proposal).toBeNull();
  });

  it('algorithms - saturates at 2147483647 MB', () => {
    expect(multiplicative.proposeGrowth(input(2147483647, 1000)).proposal?.calculatedMb).toBe(2147483647);
  });

  it('algorithms - keeps no private state', () => {
    expect(multiplicative.proposeGrowth(input(1024, 3)).state).toBeUndefined();
  });
});

describe('algorithms - registry', () => {
  it('algorithms - every contract algorithm is implemented', () => {
    expect(ALGORITHM_NAMES).toEqual(['multiplicative', 'additive', 'adaptive', 'percentile']);
    expect(getAlgorithm('multiplicative')).toBe(multiplicative);
    for (const name of ALGORITHM_NAMES) expect(getAlgorithm(name).name).toBe(name);
    expect(isAlgorithmName('fibonacci')).toBe(false);
    expect(isAlgorithmName('toString')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { policy, sample } from '../../testing/builders.js';
import { additive } from './additive.js';
import type { GrowInput } from './types.js';

const input = (currentMb: number, delta: number, increment = 512): GrowInput => ({
  currentMb,
  delta,
  threshold: 2,
  sample: sample(),
  previous: null,
  policy: policy({ additiveIncrementMb: increment }),
  state: undefined,
});

describe('algorithms - additive', () => {
  it('algorithms - proposes current + delta x walrus.additive_increment_mb from the threshold on', () => {
    expect(additive.proposeGrowth(input(1024, 3)).proposal).toMatchObject({
      calculatedMb: 1024 + 3 * 512,
      metadata: { delta: 3, threshold: 2, additive_increment_mb: 512, calculated_size_mb: 2560 },
    });
    expect(additive.proposeGrowth(input(1024, 2, 100)).proposal?.calculatedMb).toBe(1224);
    expect(additive.proposeGrowth(input(1024, 1)).proposal).toBeNull();
  });

  it('algorithms - saturates at 2147483647 MB', () => {
    expect(additive.proposeGrowth(input(2147483000, 10)).proposal?.calculatedMb).toBe(2147483647);
  });
});

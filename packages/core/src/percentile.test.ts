import { describe, expect, it } from 'vitest';
import { nearestRank, percentileOf } from './percentile.js';

describe('percentile - nearest rank', () => {
  it('percentile - a value that was measured: p99 of 200 values is the 198th smallest', () => {
    const sorted = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(nearestRank(sorted, 99)).toBe(198);
    expect(nearestRank(sorted, 50)).toBe(100);
    expect(nearestRank(sorted, 100)).toBe(200);
  });

  it('percentile - the ends: p0 is the smallest, beyond 100 the largest, none of nothing', () => {
    expect(nearestRank([4, 7, 9], 0)).toBe(4);
    expect(nearestRank([4, 7, 9], 150)).toBe(9);
    expect(nearestRank([], 50)).toBeUndefined();
    expect(percentileOf([], 95)).toBeNull();
  });

  it('percentile - percentileOf sorts a copy, leaving its argument alone', () => {
    const values = [3, 1, 2];
    expect(percentileOf(values, 50)).toBe(2);
    expect(values).toEqual([3, 1, 2]);
  });
});

import { describe, expect, it } from 'vitest';
import { at, baselined, policy, run, sample, evaluateOne } from '../testing/builders.js';
import { shrinkTarget } from './shrink.js';

/** A quiet interval right after enough quiet ones (shrink_intervals = 1). */
const shrink = (size: number, factor: number, minSizeMb: number, overrides = {}) =>
  evaluateOne(
    baselined(),
    sample({ requested: 0, at: 300, size }),
    policy({ shrinkIntervals: 1, shrinkFactor: factor, minSizeMb, ...overrides }),
  );

describe('shrink - target', () => {
  it('shrink - 4096 MB x 0.75 becomes 3072 MB', () => {
    const { decision, state } = shrink(4096, 0.75, 1024);
    expect(decision).toMatchObject({ action: 'decrease', old_size_mb: 4096, new_size_mb: 3072, forced_checkpoints: 0 });
    expect(decision?.metadata).toMatchObject({
      quiet_intervals: 1,
      shrink_factor: 0.75,
      min_size_mb: 1024,
      calculated_size_mb: 3072,
    });
    expect(state.quietIntervals).toBe(0);
    expect(state.totalAdjustments).toBe(1);
  });

  it('shrink - 1001 MB x 0.75 rounds up to 751 MB', () => {
    expect(shrink(1001, 0.75, 100).decision?.new_size_mb).toBe(751);
  });

  it('shrink - 101 MB x 0.01 rounds up to 2 MB', () => {
    expect(shrink(101, 0.01, 2).decision?.new_size_mb).toBe(2);
  });

  it('shrink - is clamped to walrus.min_size', () => {
    const { decision } = shrink(2560, 0.75, 2048);
    expect(decision).toMatchObject({ action: 'decrease', new_size_mb: 2048 });
    expect(decision?.metadata).toMatchObject({ calculated_size_mb: 1920, min_size_mb: 2048 });
    expect(decision?.reason).toContain('raised to walrus.min_size 2048 MB');
  });

  it('shrink - at the floor decides nothing', () => {
    const r = shrink(1024, 0.75, 1024);
    expect(r.decision).toBeNull();
    expect(r.outcome.reason).toContain('at or below walrus.min_size');
  });

  it('shrink - below the floor decides nothing (never grows towards it)', () => {
    expect(shrink(900, 0.75, 1024).decision).toBeNull();
  });

  it('shrink - disabled decides nothing but still counts quiet intervals', () => {
    const r = shrink(4096, 0.75, 1024, { shrinkEnable: false });
    expect(r.decision).toBeNull();
    expect(r.outcome.reason).toContain('walrus.shrink_enable is off');
    expect(r.state.quietIntervals).toBe(1);
  });

  it('shrink - a target that rounds back up to the current size decides nothing', () => {
    expect(shrink(50, 0.99, 2).decision).toBeNull();
  });

  it('shrink - rounding is decimal: 100 MB x 0.07 is 7 MB, not 8 through float error', () => {
    expect(100 * 0.07).toBeGreaterThan(7);
    expect(shrinkTarget(100, 0.07, 2)).toEqual({ calculatedMb: 7, targetMb: 7 });
    expect(shrinkTarget(2147483647, 0.99, 2).calculatedMb).toBe(2126008811);
  });
});

describe('shrink - quiet intervals', () => {
  const p = policy({ shrinkIntervals: 3, cooldownSec: 0 });

  it('shrink - needs shrink_intervals quiet samples in a row', () => {
    const { results } = run(
      [0, 300, 600, 900].map((t) => sample({ requested: 0, at: t, size: 4096 })),
      p,
    );
    expect(results.map((r) => r.outcome.kind)).toEqual(['baseline', 'no_change', 'no_change', 'decision']);
    expect(results.map((r) => r.state.quietIntervals)).toEqual([0, 1, 2, 0]);
    expect(results[3]?.decision?.metadata).toMatchObject({ quiet_intervals: 3, shrink_intervals: 3 });
  });

  it('shrink - the count restarts after a shrink', () => {
    const sizes = [4096, 4096, 4096, 4096, 3072, 3072, 3072];
    const { results } = run(
      sizes.map((size, i) => sample({ requested: 0, at: i * 300, size })),
      p,
    );
    expect(results.map((r) => r.decision?.action ?? null)).toEqual([null, null, null, 'decrease', null, null, 'decrease']);
    expect(results[6]?.decision?.new_size_mb).toBe(2304);
  });

  it('shrink - the count restarts after a grow', () => {
    const requested = [0, 0, 0, 5, 5, 5, 5];
    const sizes = [4096, 4096, 4096, 4096, 24576, 24576, 24576];
    const { results } = run(
      requested.map((r, i) => sample({ requested: r, at: i * 300, size: sizes[i] })),
      policy({ shrinkIntervals: 3, cooldownSec: 0, maxMb: 65536 }),
    );
    expect(results.map((r) => r.state.quietIntervals)).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(results.map((r) => r.decision?.action ?? null)).toEqual([null, null, null, 'increase', null, null, 'decrease']);
    expect(results[6]?.decision).toMatchObject({ sample_at: at(1800), new_size_mb: 18432 });
  });

  it('shrink - a busy interval that cannot grow (at walrus.max) also breaks the quiet run', () => {
    const requested = [0, 0, 0, 5, 5, 5];
    const { results } = run(
      requested.map((r, i) => sample({ requested: r, at: i * 300, size: 4096 })),
      policy({ shrinkIntervals: 3, cooldownSec: 0, maxMb: 4096 }),
    );
    expect(results.map((r) => r.state.quietIntervals)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(results.every((r) => r.decision === null)).toBe(true);
  });
});

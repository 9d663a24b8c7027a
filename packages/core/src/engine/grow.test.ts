import { describe, expect, it } from 'vitest';
import { baselined, policy, sample, evaluateOne } from '../testing/builders.js';

/** One interval after a baseline of 0 requested checkpoints at T0. */
const grow = (size: number, delta: number, overrides = {}) =>
  evaluateOne(baselined(), sample({ requested: delta, at: 300, size }), policy(overrides));

describe('grow - multiplicative', () => {
  it('grow - 1024 MB with 3 forced checkpoints becomes 4096 MB', () => {
    const { decision, state } = grow(1024, 3);
    expect(decision).toMatchObject({ action: 'increase', old_size_mb: 1024, new_size_mb: 4096, forced_checkpoints: 3 });
    expect(decision?.metadata).toMatchObject({ delta: 3, multiplier: 4, threshold: 2, calculated_size_mb: 4096 });
    expect(state.totalAdjustments).toBe(1);
  });

  it('grow - 512 MB with 2 forced checkpoints becomes 1536 MB', () => {
    expect(grow(512, 2).decision).toMatchObject({ action: 'increase', new_size_mb: 1536 });
  });

  it('grow - delta equal to the threshold grows', () => {
    expect(grow(1024, 3, { threshold: 3, maxMb: 65536 }).decision).toMatchObject({ action: 'increase', new_size_mb: 4096 });
  });

  it('grow - delta one below the threshold does not grow and counts as quiet', () => {
    const r = grow(1024, 2, { threshold: 3, maxMb: 65536 });
    expect(r.decision).toBeNull();
    expect(r.outcome.kind).toBe('no_change');
    expect(r.state.quietIntervals).toBe(1);
  });

  it('grow - the multiplication saturates at 2147483647 MB', () => {
    const { decision } = grow(1_000_000_000, 2, { maxMb: 2147483647 });
    expect(decision).toMatchObject({ action: 'increase', new_size_mb: 2147483647 });
    expect(decision?.metadata).toMatchObject({ calculated_size_mb: 2147483647 });
  });

  it('grow - a target above walrus.max is capped at walrus.max', () => {
    const { decision } = grow(2048, 3, { maxMb: 4096 });
    expect(decision).toMatchObject({ action: 'capped', old_size_mb: 2048, new_size_mb: 4096 });
    expect(decision?.metadata).toMatchObject({ calculated_size_mb: 8192, walrus_max_mb: 4096 });
    expect(decision?.reason).toContain('capped at walrus.max 4096 MB');
  });

  it('grow - a target equal to walrus.max is an increase, not capped', () => {
    const { decision } = grow(1024, 3, { maxMb: 4096 });
    expect(decision?.action).toBe('increase');
    expect(decision?.metadata).not.toHaveProperty('walrus_max_mb');
  });

  it('grow - a cluster already at walrus.max decides nothing', () => {
    const r = grow(4096, 3, { maxMb: 4096 });
    expect(r.decision).toBeNull();
    expect(r.outcome.kind).toBe('no_change');
    expect(r.outcome.reason).toContain('already 4096 MB');
  });

  it('grow - a cluster above walrus.max decides nothing (walrus never shrinks by capping)', () => {
    expect(grow(8192, 3, { maxMb: 4096 }).decision).toBeNull();
  });

  it('grow - a busy interval resets the quiet intervals', () => {
    const r = evaluateOne(baselined({ quietIntervals: 4 }), sample({ requested: 5, at: 300, size: 4096 }), policy());
    expect(r.decision).toBeNull();
    expect(r.state.quietIntervals).toBe(0);
  });

  it('grow - forced_checkpoints is the delta of the interval, not the cumulative counter', () => {
    const r = evaluateOne(baselined({ prevRequested: 100 }), sample({ requested: 103, at: 300 }), policy());
    expect(r.decision?.forced_checkpoints).toBe(3);
  });

  it('grow - the decision carries the sample time, timeout and algorithm', () => {
    const r = evaluateOne(baselined(), sample({ requested: 3, at: 300, timeout: 900 }), policy());
    expect(r.decision).toMatchObject({
      sample_at: '2025-01-01T00:05:00.000Z',
      decided_at: '2025-06-01T12:00:00.000Z',
      checkpoint_timeout_sec: 900,
      algorithm: 'multiplicative',
      cluster: 'pg-test',
    });
  });
});

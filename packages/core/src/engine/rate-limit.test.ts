import { describe, expect, it } from 'vitest';
import { at, baselined, policy, run, sample, evaluateOne } from '../testing/builders.js';

/** A busy interval (3 forced checkpoints on 1024 MB → 4096 MB) at `t` seconds. */
const busy = (t: number, requested = 3) => sample({ requested, at: t, size: 1024 });

describe('rate limit - cooldown', () => {
  const state = baselined({ lastAdjustmentAt: at(1000), hourWindowStart: at(1000), changesThisHour: 1 });

  it('rate limit - a change exactly at last_adjustment + cooldown_sec is allowed', () => {
    const r = evaluateOne(state, busy(1300), policy({ cooldownSec: 300 }));
    expect(r.decision?.action).toBe('increase');
    expect(r.state.lastAdjustmentAt).toBe(at(1300));
  });

  it('rate limit - a change one second before the cooldown ends is skipped', () => {
    const r = evaluateOne(state, busy(1299), policy({ cooldownSec: 300 }));
    expect(r.decision).toMatchObject({ action: 'skipped', old_size_mb: 1024, new_size_mb: 4096 });
    expect(r.decision?.metadata).toMatchObject({
      blocked_by: 'cooldown',
      blocked_until: at(1300),
      would_apply: 'increase',
      cooldown_sec: 300,
      cooldown_remaining_sec: 1,
      calculated_size_mb: 4096,
    });
    expect(r.decision?.reason).toContain('blocked');
  });

  it('rate limit - cooldown_sec = 0 turns the cooldown off', () => {
    const r = evaluateOne(state, busy(1001), policy({ cooldownSec: 0 }));
    expect(r.decision?.action).toBe('increase');
  });

  it('rate limit - a skipped decision is not a change: cooldown, window and totals stay', () => {
    const r = evaluateOne({ ...state, totalAdjustments: 7 }, busy(1100), policy({ cooldownSec: 300 }));
    expect(r.decision?.action).toBe('skipped');
    expect(r.state).toMatchObject({
      lastAdjustmentAt: at(1000),
      hourWindowStart: at(1000),
      changesThisHour: 1,
      totalAdjustments: 7,
    });
  });

  it('rate limit - a skipped shrink keeps its quiet intervals and shrinks once the cooldown is over', () => {
    const p = policy({ cooldownSec: 300, shrinkIntervals: 5 });
    const s0 = baselined({ quietIntervals: 4, lastAdjustmentAt: at(0), hourWindowStart: at(0), changesThisHour: 1 });
    const blocked = evaluateOne(s0, sample({ requested: 0, at: 200, size: 4096 }), p);
    expect(blocked.decision).toMatchObject({ action: 'skipped', new_size_mb: 3072 });
    expect(blocked.decision?.metadata).toMatchObject({ would_apply: 'decrease', blocked_by: 'cooldown' });
    expect(blocked.state.quietIntervals).toBe(5);

    const later = evaluateOne(blocked.state, sample({ requested: 0, at: 400, size: 4096 }), p);
    expect(later.decision).toMatchObject({ action: 'decrease', new_size_mb: 3072 });
    expect(later.decision?.metadata).toMatchObject({ quiet_intervals: 6 });
    expect(later.state.quietIntervals).toBe(0);
  });
});

describe('rate limit - hourly window', () => {
  const p = policy({ cooldownSec: 0, maxChangesPerHour: 2, maxMb: 1 << 30 });

  it('rate limit - the window counts changes and blocks the one over the limit', () => {
    const { results } = run([busy(0, 0), busy(300, 3), busy(600, 6), busy(900, 9)], p);
    expect(results.map((r) => r.decision?.action ?? null)).toEqual([null, 'increase', 'increase', 'skipped']);
    expect(results[2]?.state).toMatchObject({ hourWindowStart: at(300), changesThisHour: 2 });
    expect(results[3]?.decision?.metadata).toMatchObject({
      blocked_by: 'hourly_limit',
      blocked_until: at(3900),
      max_changes_per_hour: 2,
      changes_this_hour: 2,
      hour_window_start: at(300),
    });
  });

  it('rate limit - the window expires 3600 s after it opened, and the next change opens a new one', () => {
    const full = baselined({ lastAdjustmentAt: at(600), hourWindowStart: at(300), changesThisHour: 2 });
    expect(evaluateOne(full, busy(3899), p).decision?.action).toBe('skipped');
    const r = evaluateOne(full, busy(3900), p);
    expect(r.decision?.action).toBe('increase');
    expect(r.state).toMatchObject({ hourWindowStart: at(3900), changesThisHour: 1, lastAdjustmentAt: at(3900) });
  });

  it('rate limit - a change inside an open window counts in it without moving its start', () => {
    const open = baselined({ lastAdjustmentAt: at(300), hourWindowStart: at(300), changesThisHour: 1 });
    const r = evaluateOne(open, busy(900), p);
    expect(r.state).toMatchObject({ hourWindowStart: at(300), changesThisHour: 2 });
  });

  it('rate limit - max_changes_per_hour = 0 blocks every automatic change, with no end', () => {
    const r = evaluateOne(baselined(), busy(300), policy({ maxChangesPerHour: 0 }));
    expect(r.decision?.action).toBe('skipped');
    expect(r.decision?.metadata).toMatchObject({ blocked_by: 'hourly_limit', blocked_until: null });
    const shrink = evaluateOne(
      baselined({ quietIntervals: 10 }),
      sample({ requested: 0, at: 300, size: 4096 }),
      policy({ maxChangesPerHour: 0 }),
    );
    expect(shrink.decision).toMatchObject({ action: 'skipped' });
    expect(shrink.decision?.metadata).toMatchObject({ would_apply: 'decrease', blocked_by: 'hourly_limit' });
  });

  it('rate limit - the cooldown is reported before the hourly limit when both block', () => {
    const both = baselined({ lastAdjustmentAt: at(600), hourWindowStart: at(300), changesThisHour: 2 });
    const r = evaluateOne(both, busy(700), policy({ cooldownSec: 300, maxChangesPerHour: 2 }));
    expect(r.decision?.metadata).toMatchObject({ blocked_by: 'cooldown' });
  });
});

describe('rate limit - manual bypass', () => {
  it('rate limit - bypassRateLimits applies a change the limits would block, and counts it', () => {
    const r = evaluateOne(baselined(), busy(300), policy({ maxChangesPerHour: 0 }), { bypassRateLimits: true });
    expect(r.decision).toMatchObject({ action: 'increase', new_size_mb: 4096 });
    expect(r.decision?.metadata).toMatchObject({ rate_limits_bypassed: true });
    expect(r.state).toMatchObject({ lastAdjustmentAt: at(300), changesThisHour: 1, totalAdjustments: 1 });
  });
});

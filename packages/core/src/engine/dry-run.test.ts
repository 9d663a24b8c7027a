import { describe, expect, it } from 'vitest';
import { at, baselined, policy, sample, evaluateOne } from '../testing/builders.js';

const dry = (overrides = {}) => policy({ dryRun: true, ...overrides });

describe('dry run - decisions', () => {
  it('dry run - a grow becomes dry_run with would_apply increase', () => {
    const r = evaluateOne(baselined(), sample({ requested: 3, at: 300, size: 1024 }), dry());
    expect(r.decision).toMatchObject({ action: 'dry_run', old_size_mb: 1024, new_size_mb: 4096 });
    expect(r.decision?.metadata).toMatchObject({ would_apply: 'increase', dry_run: true, delta: 3, multiplier: 4 });
    expect(r.decision?.reason).toContain('dry run');
  });

  it('dry run - a capped grow has would_apply capped', () => {
    const r = evaluateOne(baselined(), sample({ requested: 3, at: 300, size: 2048 }), dry());
    expect(r.decision).toMatchObject({ action: 'dry_run', new_size_mb: 4096 });
    expect(r.decision?.metadata).toMatchObject({ would_apply: 'capped', walrus_max_mb: 4096, calculated_size_mb: 8192 });
  });

  it('dry run - a shrink has would_apply decrease and resets the quiet intervals', () => {
    const r = evaluateOne(baselined({ quietIntervals: 4 }), sample({ requested: 0, at: 300, size: 4096 }), dry());
    expect(r.decision).toMatchObject({ action: 'dry_run', new_size_mb: 3072 });
    expect(r.decision?.metadata).toMatchObject({ would_apply: 'decrease', quiet_intervals: 5 });
    expect(r.state.quietIntervals).toBe(0);
  });
});

describe('dry run - rate limits', () => {
  it('dry run - counts against the rate limits but not as an executed adjustment', () => {
    const r = evaluateOne(baselined(), sample({ requested: 3, at: 300, size: 1024 }), dry());
    expect(r.state).toMatchObject({
      lastAdjustmentAt: at(300),
      hourWindowStart: at(300),
      changesThisHour: 1,
      totalAdjustments: 0,
    });
    const next = evaluateOne(r.state, sample({ requested: 6, at: 360, size: 1024 }), dry());
    expect(next.decision?.action).toBe('skipped');
    expect(next.decision?.metadata).toMatchObject({ blocked_by: 'cooldown', dry_run: true, would_apply: 'increase' });
  });

  it('dry run - fills the hourly window like real changes', () => {
    let state = baselined();
    const actions: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const r = evaluateOne(state, sample({ requested: 3 * i, at: 300 * i, size: 1024 }), dry({ cooldownSec: 0, maxChangesPerHour: 2 }));
      actions.push(r.decision?.action ?? 'none');
      state = r.state;
    }
    expect(actions).toEqual(['dry_run', 'dry_run', 'skipped']);
  });
});

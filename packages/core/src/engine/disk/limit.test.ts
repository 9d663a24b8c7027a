import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES, type Policy } from '../../config/policy.js';
import type { ReplicationSlot } from '../../disk-schemas.js';
import type { Decision, Sample } from '../../schemas.js';
import { baselined, policy, sample, evaluateOne, type SampleSpec } from '../../testing/builders.js';
import { evaluate } from '../evaluate.js';
import { initialState } from '../state/current.js';
import { describeLimit, walDiskLimit } from './limit.js';

const MB = 1024 * 1024;

const slot = (name: string, retainedMb: number | null, extra: Partial<ReplicationSlot> = {}): ReplicationSlot => ({
  name,
  type: 'physical',
  active: false,
  wal_status: retainedMb === null ? 'lost' : 'extended',
  retained_bytes: retainedMb === null ? null : retainedMb * MB,
  safe_wal_size_bytes: null,
  ...extra,
});

/** A sample that also says what holds the WAL disk. */
function diskSample(spec: SampleSpec, disk: { slots?: ReplicationSlot[]; keepMb?: number } = {}): Sample {
  return {
    ...sample(spec),
    pg_wal_bytes: 100 * MB,
    wal_keep_size_mb: disk.keepMb ?? 0,
    replication_slots: disk.slots ?? [],
    replication_slot_count: (disk.slots ?? []).length,
  };
}

/** Grow from `size` with 3 forced checkpoints (multiplicative: x4) under `p`. */
const grow = (size: number, p: Partial<Policy>, disk: Parameters<typeof diskSample>[1] = {}) =>
  evaluateOne(baselined(), diskSample({ requested: 3, at: 300, size }, disk), policy({ minSizeMb: 64, ...p }));

describe('wal disk budget - the limit', () => {
  it('wal disk budget - no budget: no limit, whatever holds the disk', () => {
    expect(walDiskLimit(diskSample({}, { slots: [slot('s1', 5000)] }), policy())).toBeNull();
  });

  it('wal disk budget - slots share WAL: the slot furthest behind counts, not the sum; a lost slot holds nothing', () => {
    const l = walDiskLimit(diskSample({}, { slots: [slot('a', 100), slot('b', 300), slot('c', 200), slot('gone', null)], keepMb: 50 }), policy({ walDiskBudgetMb: 1024, minSizeMb: 64 }));
    expect(l).toMatchObject({ budgetMb: 1024, slotRetainedMb: 300, roomMb: 1024 - 300 - 50, limitMb: 674, floored: false });
    expect(l?.holders.slot?.name).toBe('b');
  });

  it('wal disk budget - retained bytes round up to whole MB', () => {
    const s = { ...slot('a', 0), retained_bytes: 100 * MB + 1 };
    expect(walDiskLimit(diskSample({}, { slots: [s] }), policy({ walDiskBudgetMb: 1024, minSizeMb: 64 }))?.slotRetainedMb).toBe(101);
  });

  it('wal disk budget - a sample without disk fields (older collector): the budget alone is the limit', () => {
    expect(walDiskLimit(sample({}), policy({ walDiskBudgetMb: 512, minSizeMb: 64 }))).toMatchObject({ limitMb: 512, slotRetainedMb: 0 });
  });
});

describe('wal disk budget - growth', () => {
  it('wal disk budget - a growth past budget − slot − wal_keep_size is capped there, naming the slot and how much it holds', () => {
    const { decision } = grow(256, { walDiskBudgetMb: 1024 }, { slots: [slot('standby1', 300)], keepMb: 24 });
    expect(decision).toMatchObject({ action: 'capped', old_size_mb: 256, new_size_mb: 700 });
    expect(decision?.reason).toBe(
      '3 forced checkpoints in the interval (threshold 2): 256 MB x 4 = 1024 MB, capped at 700 MB by the WAL disk budget: ' +
        'walrus.wal_disk_budget 1024 MB leaves 700 MB for max_wal_size: replication slot standby1 (physical, inactive, wal_status extended) holds 300 MB, wal_keep_size 24 MB',
    );
    expect(decision?.reason).toContain('replication slot standby1 (physical, inactive, wal_status extended) holds 300 MB');
    expect(decision?.reason).toContain('wal_keep_size 24 MB');
    expect(decision?.metadata).toMatchObject({ calculated_size_mb: 1024, wal_disk_budget_mb: 1024, wal_disk_limit_mb: 700, slot_retained_mb: 300, retaining_slot: 'standby1', wal_keep_size_mb: 24 });
    expect(decision?.metadata).not.toHaveProperty('walrus_max_mb');
  });

  it('wal disk budget - a growth within the limit is an ordinary increase', () => {
    expect(grow(256, { walDiskBudgetMb: 4096 }, { slots: [slot('s', 100)] }).decision).toMatchObject({ action: 'increase', new_size_mb: 1024 });
  });

  it('wal disk budget - walrus.max below the limit caps as before and is the one named', () => {
    const { decision } = grow(256, { walDiskBudgetMb: 8192, maxMb: 512 });
    expect(decision).toMatchObject({ action: 'capped', new_size_mb: 512 });
    expect(decision?.reason).toContain('capped at walrus.max 512 MB');
    expect(decision?.metadata).not.toHaveProperty('wal_disk_limit_mb');
  });

  it('wal disk budget - already at the limit: no growth, and the reason says what holds the disk', () => {
    const r = grow(700, { walDiskBudgetMb: 1024 }, { slots: [slot('standby1', 324)] });
    expect(r.decision).toBeNull();
    expect(r.outcome.kind).toBe('no_change');
    expect(r.outcome.reason).toContain('replication slot standby1');
  });

  it('wal disk budget - the room below walrus.min_size: growth stops at the floor, not below it', () => {
    const { decision } = grow(32, { walDiskBudgetMb: 256, minSizeMb: 64 }, { slots: [slot('s', 230)] });
    expect(decision).toMatchObject({ action: 'capped', new_size_mb: 64 });
    expect(decision?.reason).toContain('walrus.min_size 64 MB is the floor');
  });

  it('wal disk budget - a skipped (rate-limited) growth reports the capped size it would have set', () => {
    const state = baselined({ lastAdjustmentAt: '2025-01-01T00:03:00.000Z' });
    const r = evaluateOne(state, diskSample({ requested: 3, at: 300, size: 256 }, { slots: [slot('s', 500)] }), policy({ walDiskBudgetMb: 1024, minSizeMb: 64 }));
    expect(r.decision).toMatchObject({ action: 'skipped', new_size_mb: 524 });
    expect(r.decision?.metadata).toMatchObject({ would_apply: 'capped', blocked_by: 'cooldown', wal_disk_limit_mb: 524 });
  });
});

describe('wal disk budget - shrinking when a slot keeps growing', () => {
  // budget 2000, slot 1400: 600 MB left for max_wal_size; a shrink goes 10 % of the budget (200 MB) lower.
  const over = { slots: [slot('stuck', 1400)], keepMb: 0 };
  const p = (o: Partial<Policy> = {}) => policy({ walDiskBudgetMb: 2000, minSizeMb: 64, ...o });

  it('wal disk budget - max_wal_size + slot past the budget: an immediate decrease below the limit, without quiet intervals', () => {
    const r = evaluateOne(baselined(), diskSample({ requested: 0, at: 300, size: 1000 }, over), p());
    expect(r.decision).toMatchObject({ action: 'decrease', old_size_mb: 1000, new_size_mb: 400 });
    expect(r.decision?.reason).toContain('1000 MB + 1400 MB held by slots + wal_keep_size 0 MB = 2400 MB passes walrus.wal_disk_budget 2000 MB');
    expect(r.decision?.reason).toContain('replication slot stuck');
    expect(r.decision?.reason).toBe(
      'WAL disk budget: max_wal_size 1000 MB + 1400 MB held by slots + wal_keep_size 0 MB = 2400 MB passes walrus.wal_disk_budget 2000 MB ' +
        '(replication slot stuck (physical, inactive, wal_status extended) holds 1400 MB, wal_keep_size 0 MB); ' +
        'shrinking to 400 MB, 200 MB below the limit 600 MB so that a growing slot does not ask for a change at every sample',
    );
    expect(r.decision?.metadata).toMatchObject({ trigger: 'wal_disk_budget', wal_disk_limit_mb: 600, shrink_step_mb: 200, retaining_slot: 'stuck' });
    expect(r.state.quietIntervals).toBe(0);
    expect(r.state.totalAdjustments).toBe(1);
  });

  it('wal disk budget - a slot that grew since the last sample: its growth is kept free for the next interval too', () => {
    const first = evaluateOne(baselined(), diskSample({ at: 300, size: 400 }, { slots: [slot('stuck', 1300)] }), p());
    expect(first.decision).toBeNull();
    expect(first.state.disk).toEqual({ slotMb: 1300 });
    // +100 MB in one interval: 2000 − 1400 − 100 leaves 500 for max_wal_size; while the slot grows, a growth stops 200 MB lower ...
    const grown = evaluateOne(first.state, diskSample({ requested: 3, at: 600, size: 100 }, over), p());
    expect(grown.decision).toMatchObject({ action: 'capped', new_size_mb: 300, metadata: { slot_growth_reserve_mb: 100, wal_disk_limit_mb: 500, wal_disk_grow_limit_mb: 300 } });
    expect(grown.decision?.reason).toContain('100 MB kept free for the slots');
    expect(grown.decision?.reason).toContain('while the slots keep growing, a growth stops 200 MB lower, at 300 MB');
    // ... so that just after a shrink (to 300) a growth has nowhere to go until the slot stops growing.
    expect(evaluateOne(first.state, diskSample({ requested: 3, at: 600, size: 300 }, over), p()).decision).toBeNull();
    // ... and 550 MB is already too much.
    const shrunk = evaluateOne(first.state, diskSample({ at: 600, size: 550 }, over), p());
    expect(shrunk.decision).toMatchObject({ action: 'decrease', new_size_mb: 300 });
    expect(shrunk.decision?.reason).toContain('+ 100 MB the slots may grow by the next sample = 2050 MB passes');
  });

  it('wal disk budget - a slot that stopped growing (or caught up) reserves nothing', () => {
    const before = baselined({ disk: { slotMb: 1500 } });
    const r = evaluateOne(before, diskSample({ requested: 3, at: 300, size: 300 }, over), p());
    expect(r.decision).toMatchObject({ action: 'capped', new_size_mb: 600 });
    expect(r.decision?.metadata).not.toHaveProperty('slot_growth_reserve_mb');
  });

  it('wal disk budget - a sample without slots keeps what the last one said', () => {
    const before = baselined({ disk: { slotMb: 1500 } });
    expect(evaluateOne(before, sample({ at: 300 }), p()).state.disk).toEqual({ slotMb: 1500 });
  });

  it('wal disk budget - the shrink comes first even in an interval with forced checkpoints', () => {
    const r = evaluateOne(baselined(), diskSample({ requested: 5, at: 300, size: 1000 }, over), p());
    expect(r.decision).toMatchObject({ action: 'decrease', new_size_mb: 400 });
  });

  it('wal disk budget - the shrink passes the cooldown and the hourly limit, and counts as a change', () => {
    const state = baselined({ lastAdjustmentAt: '2025-01-01T00:04:00.000Z', hourWindowStart: '2025-01-01T00:04:00.000Z', changesThisHour: 4 });
    const limits = p({ cooldownSec: 3600, maxChangesPerHour: 4 });
    const r = evaluateOne(state, diskSample({ at: 300, size: 1000 }, over), limits);
    expect(r.decision).toMatchObject({ action: 'decrease', new_size_mb: 400 });
    expect(r.state).toMatchObject({ lastAdjustmentAt: '2025-01-01T00:05:00.000Z', changesThisHour: 5 });
    // A growth right after it is held back as usual: no flapping.
    const next = evaluateOne(r.state, diskSample({ requested: 3, at: 360, size: 400 }, { slots: [] }), limits);
    expect(next.decision).toMatchObject({ action: 'skipped', metadata: { blocked_by: 'cooldown' } });
  });

  it('wal disk budget - walrus.max_changes_per_hour = 0 still stops it, and dry run still only records it', () => {
    const stopped = evaluateOne(baselined(), diskSample({ at: 300, size: 1000 }, over), p({ maxChangesPerHour: 0 }));
    expect(stopped.decision).toMatchObject({ action: 'skipped', new_size_mb: 400, metadata: { blocked_by: 'hourly_limit' } });
    const dry = evaluateOne(baselined(), diskSample({ at: 300, size: 1000 }, over), p({ dryRun: true }));
    expect(dry.decision).toMatchObject({ action: 'dry_run', new_size_mb: 400, metadata: { would_apply: 'decrease' } });
  });

  it('wal disk budget - it shrinks with walrus.shrink_enable off too: that switch is about quiet intervals', () => {
    const r = evaluateOne(baselined(), diskSample({ at: 300, size: 1000 }, over), p({ shrinkEnable: false }));
    expect(r.decision).toMatchObject({ action: 'decrease', new_size_mb: 400 });
  });

  it('wal disk budget - never below walrus.min_size: the floor, then nothing more', () => {
    const floor = p({ minSizeMb: 700 });
    const r = evaluateOne(baselined(), diskSample({ at: 300, size: 1000 }, over), floor);
    expect(r.decision).toMatchObject({ action: 'decrease', new_size_mb: 700 });
    expect(r.decision?.reason).toContain('walrus.min_size 700 MB: the budget cannot be kept by max_wal_size alone');
    const atFloor = evaluateOne(r.state, diskSample({ at: 600, size: 700 }, over), floor);
    expect(atFloor.decision).toBeNull();
    // The step stops at the floor too, when the limit itself is above it.
    expect(evaluateOne(baselined(), diskSample({ at: 300, size: 1000 }, over), p({ minSizeMb: 500 })).decision).toMatchObject({ new_size_mb: 500 });
  });

  it('wal disk budget - a standby is not managed, whatever its slots hold', () => {
    const r = evaluateOne(baselined(), diskSample({ at: 300, size: 1000, recovery: true }, over), p());
    expect(r.decision).toBeNull();
    expect(r.outcome.kind).toBe('standby');
  });
});

describe('wal disk budget - every algorithm', () => {
  const EXECUTABLE = new Set(['increase', 'decrease', 'capped']);

  /** Samples as the collector sees them: the size follows executable decisions, a slot grows by `slotGrowthMb` a sample. */
  function simulate(p: Policy, steps: { dt: number; forced: number; walMb: number; slotGrowthMb: number }[]) {
    let state = initialState();
    let size = 64;
    let requested = 0;
    let wal = 0;
    let retained = 0;
    let t = 0;
    const seen: Array<{ d: Decision; retainedMb: number }> = [];
    for (const s of steps) {
      t += s.dt;
      requested += s.forced;
      wal += s.walMb * MB;
      retained = Math.max(0, retained + s.slotGrowthMb);
      const smp = diskSample({ at: t, requested, size, walBytes: wal, timeout: 60 }, { slots: [slot('s', retained)] });
      const r = evaluate({ state, sample: smp, policy: p, now: '2025-06-01T12:00:00.000Z' });
      state = r.state;
      if (r.decision) {
        seen.push({ d: r.decision, retainedMb: retained });
        if (EXECUTABLE.has(r.decision.action)) size = r.decision.new_size_mb;
      }
    }
    return seen;
  }

  const stepsArb = fc.array(
    fc.record({
      dt: fc.integer({ min: 5, max: 120 }),
      forced: fc.integer({ min: 0, max: 6 }),
      walMb: fc.integer({ min: 0, max: 2000 }),
      slotGrowthMb: fc.integer({ min: -300, max: 400 }),
    }),
    { minLength: 2, maxLength: 40 },
  );

  it.each(ALGORITHM_NAMES)('wal disk budget - %s never sets max_wal_size + slot + wal_keep_size past the budget (above the floor)', (algorithm) => {
    const seen = { capped: 0, diskShrinks: 0 };
    fc.assert(
      fc.property(stepsArb, fc.integer({ min: 128, max: 8192 }), (steps, budget) => {
        const p = policy({ algorithm, walDiskBudgetMb: budget, minSizeMb: 64, maxMb: 65536, cooldownSec: 0, maxChangesPerHour: 1000, shrinkIntervals: 2 });
        for (const { d, retainedMb } of simulate(p, steps)) {
          if (d.action === 'increase' || d.action === 'capped') {
            expect(d.new_size_mb).toBeLessThanOrEqual(Math.max(budget - retainedMb, 64));
          }
          if (d.action === 'capped') seen.capped += 1;
          if (d.action === 'decrease') {
            expect(d.new_size_mb).toBeGreaterThanOrEqual(64);
            if (d.metadata['trigger'] === 'wal_disk_budget') {
              seen.diskShrinks += 1;
              // Below the limit by a tenth of the budget (and by the slot's latest growth), never below the floor.
              expect(d.new_size_mb).toBeLessThanOrEqual(Math.max(budget - retainedMb - Math.ceil(budget / 10), 64));
            }
          }
        }
      }),
      { numRuns: 60, seed: 12 },
    );
    // The runs did reach the limit both ways (a fixed seed: the same runs every time).
    expect(seen.capped).toBeGreaterThan(0);
    expect(seen.diskShrinks).toBeGreaterThan(0);
  });

  it.each(ALGORITHM_NAMES)('wal disk budget - %s decides exactly as without disk fields when no budget is set', (algorithm) => {
    fc.assert(
      fc.property(stepsArb, (steps) => {
        const p = policy({ algorithm, minSizeMb: 64, cooldownSec: 0, maxChangesPerHour: 1000, shrinkIntervals: 2 });
        let a = initialState();
        let b = initialState();
        let t = 0;
        let requested = 0;
        let wal = 0;
        for (const s of steps) {
          t += s.dt;
          requested += s.forced;
          wal += s.walMb * MB;
          const plain = sample({ at: t, requested, size: 256, walBytes: wal, timeout: 60 });
          const ra = evaluate({ state: a, sample: plain, policy: p, now: '2025-06-01T12:00:00.000Z' });
          const rb = evaluate({ state: b, sample: diskSample({ at: t, requested, size: 256, walBytes: wal, timeout: 60 }, { slots: [slot('s', 5000)], keepMb: 1000 }), policy: p, now: '2025-06-01T12:00:00.000Z' });
          expect(rb.decision).toEqual(ra.decision);
          a = ra.state;
          b = rb.state;
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('limit - walrus.bound_slots', () => {
  it('limit - max_wal_size leaves the slot bound’s margin free too, so that the slots’ keep size is never negative', () => {
    const s = { ...sample({ at: 0 }), replication_slots: [], wal_keep_size_mb: 0 };
    expect(walDiskLimit(s, policy({ walDiskBudgetMb: 1000, minSizeMb: 64 }))).toMatchObject({ marginMb: 0, roomMb: 1000, limitMb: 1000 });
    const l = walDiskLimit(s, policy({ walDiskBudgetMb: 1000, minSizeMb: 64, boundSlots: true }));
    expect(l).toMatchObject({ marginMb: 100, roomMb: 900, limitMb: 900 });
    expect(l && describeLimit(l, 64)).toContain('; 100 MB margin kept free (walrus.bound_slots)');
  });
});

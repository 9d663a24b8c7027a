import { describe, expect, it } from 'vitest';
import type { ReplicationSlot } from '../../disk-schemas.js';
import { DecisionV1, type Sample } from '../../schemas.js';
import { policy, sample } from '../../testing/builders.js';
import { initialState, type ClusterState } from '../state/current.js';
import { step, type StepResult } from '../step.js';

const MB = 1024 * 1024;
const BOUNDED = policy({ walDiskBudgetMb: 2000, boundSlots: true, slotGraceSec: 600, minSizeMb: 64, cooldownSec: 300, maxChangesPerHour: 4 });

const slot = (name: string, mb: number, active = false): ReplicationSlot => ({ name, type: 'physical', active, wal_status: 'reserved', retained_bytes: mb * MB, safe_wal_size_bytes: null });
const disk = (t: number, fields: Partial<Sample> & { requested?: number; size?: number; walMb?: number } = {}): Sample => {
  const { requested, size, walMb, ...rest } = fields;
  return {
    ...sample({ at: t, requested: requested ?? 0, size: size ?? 256, walBytes: (walMb ?? t) * MB }),
    pg_wal_bytes: 300 * MB,
    wal_keep_size_mb: 0,
    replication_slots: [],
    replication_slot_count: 0,
    max_slot_wal_keep_size_mb: -1,
    ...rest,
  };
};

function run(samples: Sample[], p = BOUNDED, from: ClusterState = initialState()): StepResult[] {
  let state = from;
  return samples.map((s, i) => {
    const t = Date.parse(s.collected_at);
    const r = step({ state, sample: s, defaults: p, nowMs: t, maxSkewMs: 300_000, stored: { seq: i + 1, atMs: t } });
    state = r.state;
    return r;
  });
}

describe('bound decision - walrus.bound_slots in the decisions', () => {
  it('bound decision - an unlimited keep size gets a decision of its own, max_wal_size unchanged; then nothing while it holds', () => {
    const [, set, quiet] = run([disk(0), disk(300), disk(600, { max_slot_wal_keep_size_mb: 1544 })]);
    expect(set?.decision).toMatchObject({
      action: 'decrease',
      old_size_mb: 256,
      new_size_mb: 256,
      max_slot_wal_keep_size_mb: 1544,
      metadata: { trigger: 'bound_slots', slot_keep_from_mb: -1, slot_keep_bound_mb: 1544, slot_keep_margin_mb: 200, max_slot_wal_keep_size_mb: 1544 },
    });
    expect(set?.decision?.reason).toBe(
      'max_slot_wal_keep_size unlimited (-1) → 1544 MB, max_wal_size stays 256 MB: max_slot_wal_keep_size 1544 MB: walrus.wal_disk_budget 2000 MB − max_wal_size 256 MB − wal_keep_size 0 MB − margin 200 MB = 1544 MB',
    );
    expect(DecisionV1.parse(set?.decision)).toEqual(set?.decision);
    // Not a change of max_wal_size: no cooldown starts, nothing counted.
    expect(set?.state).toMatchObject({ lastAdjustmentAt: null, totalAdjustments: 0 });
    expect(quiet?.decision).toBeNull();
  });

  it('bound decision - a growth of max_wal_size carries the keep size that goes with its new size', () => {
    const [, grown] = run([disk(0, { max_slot_wal_keep_size_mb: 1544 }), disk(300, { requested: 3, max_slot_wal_keep_size_mb: 1544 })]);
    expect(grown?.decision).toMatchObject({ action: 'increase', old_size_mb: 256, new_size_mb: 1024, max_slot_wal_keep_size_mb: 776 });
    expect(grown?.decision?.reason).toContain('; max_slot_wal_keep_size 776 MB: walrus.wal_disk_budget 2000 MB − max_wal_size 1024 MB');
  });

  it('bound decision - off: nothing is set, whatever is in force', () => {
    const rs = run([disk(0), disk(300), disk(600, { requested: 3 })], { ...BOUNDED, boundSlots: false });
    expect(rs.map((r) => r.decision?.max_slot_wal_keep_size_mb)).toEqual([undefined, undefined, undefined]);
    expect(rs[1]?.decision).toBeNull();
    expect(rs[2]?.decision?.metadata).not.toHaveProperty('slot_keep_bound_mb');
  });

  it('bound decision - dry run and the emergency stop hold; the cooldown does not', () => {
    expect(run([disk(0), disk(300)], { ...BOUNDED, dryRun: true })[1]?.decision).toMatchObject({ action: 'dry_run', max_slot_wal_keep_size_mb: 1544, metadata: { would_apply: 'decrease' } });
    expect(run([disk(0), disk(300)], { ...BOUNDED, maxChangesPerHour: 0 })[1]?.decision).toMatchObject({ action: 'skipped', metadata: { blocked_by: 'hourly_limit' } });
    // Right after a growth (cooldown running), a slot that needs more room still gets it at once.
    const rs = run([
      disk(0, { max_slot_wal_keep_size_mb: 1544 }),
      disk(300, { requested: 3, max_slot_wal_keep_size_mb: 1544 }),
      disk(360, { size: 1024, requested: 3, walMb: 420, max_slot_wal_keep_size_mb: 776, replication_slots: [slot('replica', 500, true)], replication_slot_count: 1 }),
    ]);
    // The slot's 500 MB (and as much again by the next sample) and the bound's 200 MB margin make the budget shrink
    // max_wal_size to 600 MB at once; the active slot is 500 MB behind, and 600 s more at the higher of the sliding rate
    // (420 MB in 360 s) and the last interval's (120 MB in 60 s, 2 MB/s) is 1200 MB: 1700 MB, more than the 1200 MB the
    // budget leaves it.
    expect(rs[2]?.decision).toMatchObject({ action: 'decrease', new_size_mb: 600, max_slot_wal_keep_size_mb: 1700, metadata: { slot_keep_bound_mb: 1200, slot_keep_floor_mb: 1700, slot_keep_protects: 'replica' } });
  });

  it('bound decision - a stuck slot: warned (slot_retention) with its grace, then the bound holds and its loss is alerted', () => {
    // The server as the applier leaves it: each executable decision's size and keep size are in force at the next sample.
    const server = { size: 256, keep: 1544 };
    let state = initialState();
    const seen: Array<[number, number | undefined, string[]]> = [];
    const slots: Array<[number, ReplicationSlot]> = [
      [0, slot('stuck', 100)],
      [60, slot('stuck', 160)],
      // 80 % of the keep size in force (1544 MB) is 1236 MB.
      [1200, slot('stuck', 1300)],
      [1500, slot('stuck', 1600)],
      [1900, slot('stuck', 2000)],
      [1960, { ...slot('stuck', 0), retained_bytes: null, wal_status: 'lost', invalidation_reason: 'wal_removed' }],
    ];
    slots.forEach(([t, s], i) => {
      const sampled = disk(t, { walMb: 1000 + t, size: server.size, max_slot_wal_keep_size_mb: server.keep, replication_slots: [s], replication_slot_count: 1 });
      const at = Date.parse(sampled.collected_at);
      const r = step({ state, sample: sampled, defaults: BOUNDED, nowMs: at, maxSkewMs: 300_000, stored: { seq: i + 1, atMs: at } });
      state = r.state;
      const d = r.decision;
      if (d && ['increase', 'decrease', 'capped'].includes(d.action)) {
        server.size = d.new_size_mb;
        server.keep = d.max_slot_wal_keep_size_mb ?? server.keep;
      }
      seen.push([t, d?.max_slot_wal_keep_size_mb, r.alerts.filter((a) => a.kind.startsWith('slot_')).map((a) => `${a.kind} ${a.state}`)]);
    });
    expect(seen).toEqual([
      [0, undefined, []],
      [60, undefined, []],
      // Warned at the first sample that shows it at risk; the budget shrinks max_wal_size to walrus.min_size, and the
      // keep size is raised past the bound (1736 MB) towards what the slot was promised (1300 MB + 600 s at 1 MB/s),
      // but by half the margin at most (1836 MB): past that the budget itself would not hold.
      [1200, 1836, ['slot_retention firing']],
      [1500, undefined, []],
      // The grace ended at 1800 s: back to the bound, which PostgreSQL enforces at its next checkpoint.
      [1900, 1736, []],
      [1960, undefined, ['slot_retention resolved', 'slot_lost firing']],
    ]);
  });
});

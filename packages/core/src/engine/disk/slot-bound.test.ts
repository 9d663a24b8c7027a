import { describe, expect, it } from 'vitest';
import type { ReplicationSlot } from '../../disk-schemas.js';
import type { Sample } from '../../schemas.js';
import { at, policy, sample } from '../../testing/builders.js';
import { slotBound, type SlotGrace } from './slot-bound.js';

const MB = 1024 * 1024;
const BOUND = policy({ walDiskBudgetMb: 1000, boundSlots: true, slotGraceSec: 600, minSizeMb: 64 });

const slot = (name: string, retainedMb: number, extra: Partial<ReplicationSlot> = {}): ReplicationSlot => ({
  name,
  type: 'physical',
  active: false,
  wal_status: 'reserved',
  retained_bytes: retainedMb * MB,
  safe_wal_size_bytes: null,
  ...extra,
});
const disk = (t: number, fields: Partial<Sample>): Sample => ({ ...sample({ at: t, size: 200 }), wal_keep_size_mb: 0, max_slot_wal_keep_size_mb: -1, ...fields });
const bound = (s: Sample, o: { rateMb?: number; grace?: SlotGrace; targetMb?: number; p?: typeof BOUND } = {}) =>
  slotBound({ sample: s, policy: o.p ?? BOUND, targetMb: o.targetMb ?? s.max_wal_size_mb, walRateBytesPerSec: (o.rateMb ?? 0) * MB, grace: o.grace });

describe('slot bound - max_slot_wal_keep_size from the budget', () => {
  it('slot bound - off unless walrus.bound_slots is on and a budget is set', () => {
    expect(bound(disk(0, {}), { p: { ...BOUND, boundSlots: false } })).toBeNull();
    expect(bound(disk(0, {}), { p: { ...BOUND, walDiskBudgetMb: null } })).toBeNull();
  });

  it('slot bound - budget − max_wal_size − wal_keep_size − a tenth of the budget; an unlimited keep size must change', () => {
    const b = bound(disk(0, { wal_keep_size_mb: 50 }), { targetMb: 300 });
    expect(b).toMatchObject({ boundMb: 550, marginMb: 100, floorMb: 0, keepMb: 550, changeNeeded: true, atRisk: [] });
    expect(b?.reason).toBe('max_slot_wal_keep_size 550 MB: walrus.wal_disk_budget 1000 MB − max_wal_size 300 MB − wal_keep_size 50 MB − margin 100 MB = 550 MB');
    // In force already, or within the tolerance (2 % of the budget): nothing to do on its own.
    expect(bound(disk(0, { wal_keep_size_mb: 50, max_slot_wal_keep_size_mb: 550 }), { targetMb: 300 })?.changeNeeded).toBe(false);
    expect(bound(disk(0, { wal_keep_size_mb: 50, max_slot_wal_keep_size_mb: 560 }), { targetMb: 300 })?.changeNeeded).toBe(false);
    expect(bound(disk(0, { wal_keep_size_mb: 50, max_slot_wal_keep_size_mb: 580 }), { targetMb: 300 })?.changeNeeded).toBe(true);
    // A sample that does not say what is in force asks for nothing on its own.
    const { max_slot_wal_keep_size_mb: _x, ...silent } = disk(0, {});
    expect(bound(silent)?.changeNeeded).toBe(false);
  });

  it('slot bound - never below what an active slot needs for the grace at the current WAL rate, and says so', () => {
    // 100 MB behind, 0.5 MB/s for 600 s: 400 MB; the budget leaves 1000 − 800 − 100 = 100 MB.
    const b = bound(disk(0, { replication_slots: [slot('replica', 100, { active: true })] }), { targetMb: 800, rateMb: 0.5 });
    expect(b).toMatchObject({ boundMb: 100, floorMb: 400, keepMb: 400, protecting: { name: 'replica', why: 'active' }, atRisk: [] });
    expect(b?.reason).toContain('raised to 400 MB so that the active slot replica stays valid for walrus.slot_grace_sec 600 s of WAL at 1 MB/s');
    // Below the floor in force: raised at once, whatever the tolerance.
    expect(bound(disk(0, { max_slot_wal_keep_size_mb: 390, replication_slots: [slot('replica', 100, { active: true })] }), { targetMb: 800, rateMb: 0.5 })?.changeNeeded).toBe(true);
  });

  it('slot bound - an inactive slot is warned before it is at risk and keeps its grace after the warning, then the bound holds', () => {
    // Bound 1000 − 200 − 100 = 700 MB. 1 MB/s: a slot of 100 MB reaches it in 600 s, within the grace: at risk now.
    const first = bound(disk(0, { replication_slots: [slot('stuck', 100)] }), { rateMb: 1 });
    expect(first?.atRisk.map((r) => [r.slot.name, Math.round(r.etaSec ?? -1), r.graceEndsAt])).toEqual([['stuck', 600, at(600)]]);
    expect(first?.grace).toEqual({ stuck: { since: at(0), needMb: 700 } });
    // Half-way through the grace: still promised what it needed at the warning.
    const mid = bound(disk(300, { replication_slots: [slot('stuck', 400)] }), { rateMb: 1, grace: first?.grace });
    expect(mid).toMatchObject({ keepMb: 700, atRisk: [expect.objectContaining({ graceEndsAt: at(600) })] });
    // A budget that leaves less: the promise outlasts it until the grace ends, by half the margin at most ...
    const tight = { ...BOUND, walDiskBudgetMb: 700 };
    const capped = bound(disk(500, { replication_slots: [slot('stuck', 500)] }), { rateMb: 1, grace: first?.grace, p: tight });
    expect(capped).toMatchObject({
      boundMb: 430,
      marginMb: 70,
      keepMb: 465,
      protecting: { name: 'stuck', why: 'warned' },
    });
    // ... and says that the grace is not kept, in the reason and the at-risk warning, rather than promise it.
    expect(capped?.reason).toContain(
      'raised to 465 MB so that the warned slot stuck stays valid for walrus.slot_grace_sec 600 s after its warning as far as the budget allows (its grace needs 700 MB, more than the bound and half the margin: it may be invalidated before its grace ends)',
    );
    expect(capped?.atRisk.map((r) => r.graceShortOfMb)).toEqual([700]);
    expect(first?.atRisk.map((r) => r.graceShortOfMb)).toEqual([null]);
    expect(mid?.reason).not.toContain('as far as the budget allows');
    // ... and no longer: the bound, which invalidates the slot at the next checkpoint.
    const after = bound(disk(601, { replication_slots: [slot('stuck', 601)] }), { rateMb: 1, grace: first?.grace, p: tight });
    expect(after).toMatchObject({ boundMb: 430, keepMb: 430, floorMb: 0 });
    expect(after?.grace).toEqual(first?.grace);
  });

  it('slot bound - the margin is a tenth of the budget, but at least four WAL segments', () => {
    expect(bound(disk(0, {}), { p: { ...BOUND, walDiskBudgetMb: 256 }, targetMb: 32 })).toMatchObject({ marginMb: 64, boundMb: 160 });
    expect(bound(disk(0, { wal_segment_size_bytes: MB }), { p: { ...BOUND, walDiskBudgetMb: 256 }, targetMb: 32 })).toMatchObject({ marginMb: 26, boundMb: 198 });
  });

  it('slot bound - a slot that holds 80 % of the keep size is at risk even when WAL is not written; a warned slot is forgotten only once clearly safe', () => {
    const risky = bound(disk(0, { replication_slots: [slot('idle', 600)] }));
    expect(risky?.atRisk.map((r) => [r.slot.name, r.etaSec])).toEqual([['idle', null]]);
    // Not at risk any more, but still above 70 % of the bound: still warned, its promise as it was (no new one at each sample).
    expect(bound(disk(10, { replication_slots: [slot('idle', 500)] }), { grace: risky?.grace })?.grace).toEqual(risky?.grace);
    expect(bound(disk(10, { replication_slots: [slot('idle', 100)] }), { grace: risky?.grace })?.grace).toEqual({});
    // A lost slot holds nothing and is no one's concern here (slot_lost says it).
    expect(bound(disk(0, { replication_slots: [slot('gone', 0, { retained_bytes: null, wal_status: 'lost', invalidation_reason: 'wal_removed' })] }))?.atRisk).toEqual([]);
  });
});

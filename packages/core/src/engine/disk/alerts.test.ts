import { assert, describe, expect, it } from 'vitest';
import type { Archiver, ReplicationSlot } from '../../disk-schemas.js';
import { AlertV1 } from '../../disk-schemas.js';
import type { Sample } from '../../schemas.js';
import { at, policy, sample } from '../../testing/builders.js';
import { alertId, evaluateAlerts, NO_ALERTS, type AlertBook } from './alerts.js';
import { archiverHealth } from './archiver.js';

const MB = 1024 * 1024;
const BUDGET = policy({ walDiskBudgetMb: 1000 });

const slot = (name: string, retainedMb: number, extra: Partial<ReplicationSlot> = {}): ReplicationSlot => ({
  name,
  type: 'physical',
  active: false,
  wal_status: 'extended',
  retained_bytes: retainedMb * MB,
  safe_wal_size_bytes: null,
  ...extra,
});

const archiver = (a: Partial<Archiver> = {}): Archiver => ({
  mode: 'on',
  configured: true,
  archived_count: 0,
  failed_count: 0,
  last_archived_wal: null,
  last_archived_at: null,
  last_failed_wal: null,
  last_failed_at: null,
  pending_files: 0,
  ...a,
});

const disk = (t: number, fields: Partial<Sample>): Sample => ({ ...sample({ at: t }), ...fields });

/** Runs samples through the alert rules as the decider does, returning every alert and the final book. */
function run(samples: Sample[], p = BUDGET, start: AlertBook = NO_ALERTS) {
  let book = start;
  const all = [];
  for (const s of samples) {
    const r = evaluateAlerts(book, s, p);
    book = r.state;
    all.push(...r.alerts);
  }
  return { alerts: all, book };
}

describe('alerts - slot_retention', () => {
  it('alerts - fires once when a slot crosses 80 % of the budget, not at every sample; resolves under 70 %', () => {
    const mbs = [100, 500, 799, 800, 900, 950, 750, 701, 699, 650, 820];
    const { alerts, book } = run(mbs.map((mb, i) => disk(i * 10, { replication_slots: [slot('stuck', mb)], replication_slot_count: 1 })));
    expect(alerts.map((a) => [a.state, a.at, a.retained_bytes])).toEqual([
      ['firing', at(30), 800 * MB],
      ['resolved', at(80), 699 * MB],
      ['firing', at(100), 820 * MB],
    ]);
    for (const a of alerts) expect(AlertV1.parse(a)).toEqual(a);
    expect(alerts[0]).toMatchObject({ kind: 'slot_retention', slot: 'stuck', cluster: 'pg-test', budget_bytes: 1000 * MB, wal_status: 'extended' });
    expect(alerts[0]?.detail).toBe('replication slot stuck (physical, inactive, wal_status extended) holds 800 MB of WAL: 80 % of walrus.wal_disk_budget 1000 MB');
    expect(alerts[1]?.detail).toContain('under 70 % again');
    expect(book.firing).toEqual({ 'slot_retention:stuck': { since: at(100) } });
  });

  it('alerts - per slot: two slots fire and resolve on their own', () => {
    const { alerts } = run([
      disk(0, { replication_slots: [slot('a', 850), slot('b', 100)] }),
      disk(10, { replication_slots: [slot('a', 860), slot('b', 900)] }),
      disk(20, { replication_slots: [slot('a', 10), slot('b', 900)] }),
    ]);
    expect(alerts.map((a) => `${a.slot} ${a.state}`)).toEqual(['a firing', 'b firing', 'a resolved']);
  });

  it('alerts - a dropped slot resolves its alert; one merely left out of a truncated list does not', () => {
    const firing = run([disk(0, { replication_slots: [slot('s', 900)], replication_slot_count: 1 })]).book;
    const truncated = run([disk(10, { replication_slots: [], replication_slot_count: 150 })], BUDGET, firing);
    expect(truncated.alerts).toEqual([]);
    const dropped = run([disk(10, { replication_slots: [], replication_slot_count: 0 })], BUDGET, firing);
    expect(dropped.alerts).toMatchObject([{ kind: 'slot_retention', state: 'resolved', slot: 's', retained_bytes: 0, detail: 'replication slot s no longer exists' }]);
  });

  it('alerts - the safe_wal_size of a slot is in the detail when max_slot_wal_keep_size is set', () => {
    const { alerts } = run([disk(0, { replication_slots: [slot('s', 900, { safe_wal_size_bytes: 50 * MB, wal_status: 'unreserved' })] })]);
    expect(alerts[0]?.detail).toContain('50 MB more before max_slot_wal_keep_size invalidates it');
  });

  it('alerts - a sample that does not report slots (older collector) changes nothing', () => {
    const firing = run([disk(0, { replication_slots: [slot('s', 900)] })]).book;
    expect(run([disk(10, {})], BUDGET, firing)).toEqual({ alerts: [], book: firing });
  });
});

describe('alerts - wal_disk_budget', () => {
  it('alerts - pg_wal near the budget fires with what it holds, and resolves under 70 %', () => {
    const { alerts } = run([500, 810, 900, 720, 690].map((mb, i) => disk(i * 10, { pg_wal_bytes: mb * MB })));
    expect(alerts.map((a) => [a.kind, a.state, a.used_bytes])).toEqual([
      ['wal_disk_budget', 'firing', 810 * MB],
      ['wal_disk_budget', 'resolved', 690 * MB],
    ]);
    expect(alerts[0]?.detail).toBe('pg_wal holds 810 MB: 81 % of walrus.wal_disk_budget 1000 MB (max_wal_size 1024 MB)');
  });

  it('alerts - without a budget nothing fires; a budget turned off resolves what was firing', () => {
    expect(run([disk(0, { pg_wal_bytes: 10_000 * MB, replication_slots: [slot('s', 9000)] })], policy()).alerts).toEqual([]);
    const firing = run([disk(0, { pg_wal_bytes: 900 * MB, replication_slots: [slot('s', 900)] })]).book;
    const off = run([disk(10, { pg_wal_bytes: 900 * MB, replication_slots: [slot('s', 900)] })], policy(), firing);
    expect(off.alerts.map((a) => [a.kind, a.state, a.slot])).toEqual([
      ['wal_disk_budget', 'resolved', undefined],
      ['slot_retention', 'resolved', 's'],
    ]);
    expect(off.alerts[1]?.retained_bytes).toBe(900 * MB);
    expect(off.book.firing).toEqual({});
  });
});

describe('alerts - archiver_failing', () => {
  const failing = archiver({ failed_count: 3, last_failed_wal: '000000010000000000000002', last_failed_at: at(5), pending_files: 2 });

  it('alerts - fires when the latest archive attempt failed, once, and resolves after a success', () => {
    const { alerts } = run(
      [
        disk(0, { archiver: archiver() }),
        disk(10, { archiver: failing }),
        disk(20, { archiver: { ...failing, failed_count: 6, last_failed_at: at(15) } }),
        disk(30, { archiver: { ...failing, failed_count: 6, archived_count: 3, last_archived_wal: '000000010000000000000004', last_archived_at: at(25), pending_files: 0 } }),
      ],
      policy(),
    );
    expect(alerts.map((a) => [a.kind, a.state, a.at, a.failed_count])).toEqual([
      ['archiver_failing', 'firing', at(10), 3],
      ['archiver_failing', 'resolved', at(30), 6],
    ]);
    expect(alerts[0]?.detail).toBe(
      `archiving fails: 3 failed attempt(s), the last for 000000010000000000000002 at ${at(5)}; nothing archived yet; 2 WAL segment(s) wait to be archived`,
    );
    expect(alerts[0]).toMatchObject({ last_failed_wal: '000000010000000000000002', pending_files: 2 });
    expect(alerts[0]).not.toHaveProperty('budget_bytes');
  });

  it('alerts - archiver health: off, a standby with mode on, no command with waiting segments, stats reset', () => {
    expect(archiverHealth(disk(0, { archiver: { ...failing, mode: 'off' } }))?.failing).toBe(false);
    expect(archiverHealth({ ...disk(0, { archiver: failing }), in_recovery: true })?.failing).toBe(false);
    expect(archiverHealth({ ...disk(0, { archiver: { ...failing, mode: 'always' } }), in_recovery: true })?.failing).toBe(true);
    expect(archiverHealth(disk(0, { archiver: archiver({ configured: false, pending_files: 4 }) }))).toEqual({
      failing: true,
      detail: 'archive_mode is on but neither archive_command nor archive_library is set; 4 WAL segment(s) wait to be archived',
    });
    expect(archiverHealth(disk(0, { archiver: archiver({ configured: false, pending_files: 0 }) }))?.failing).toBe(false);
    expect(archiverHealth(disk(0, { archiver: archiver() }))?.failing).toBe(false);
    expect(archiverHealth(disk(0, {}))).toBeNull();
  });
});

describe('alerts - ids', () => {
  it('alerts - the same sample gives the same alert and id (a redelivery is stored once); other events get other ids', () => {
    const s = disk(10, { replication_slots: [slot('s', 900)], pg_wal_bytes: 900 * MB });
    const a = evaluateAlerts(NO_ALERTS, s, BUDGET).alerts;
    expect(evaluateAlerts(NO_ALERTS, s, BUDGET).alerts).toEqual(a);
    expect(a).toHaveLength(2);
    expect(new Set(a.map((x) => x.id)).size).toBe(2);
    expect(alertId('c', 'slot_retention', 's', 'firing', at(10))).toBe(alertId('c', 'slot_retention', 's', 'firing', '2025-01-01T01:00:10+01:00'));
    expect(alertId('c', 'slot_retention', 's', 'firing', at(10))).not.toBe(alertId('c', 'slot_retention', 's', 'resolved', at(10)));
    expect(alertId('c', 'slot_retention', 's', 'firing', at(10))).not.toBe(alertId('c', 'slot_retention', 't', 'firing', at(10)));
  });

  it('alerts - the schema refuses a slot_retention alert without its slot', () => {
    const [a] = evaluateAlerts(NO_ALERTS, disk(10, { replication_slots: [slot('s', 900)] }), BUDGET).alerts;
    assert(a);
    const { slot: _slot, ...withoutSlot } = a;
    expect(AlertV1.safeParse(withoutSlot).success).toBe(false);
  });
});

describe('alerts - slot_lost', () => {
  it('alerts - fires once when PostgreSQL invalidates a slot, naming it and the reason; resolves when it is dropped', () => {
    const lost = slot('stuck', 0, { retained_bytes: null, wal_status: 'lost', invalidation_reason: 'wal_removed', inactive_since: at(0) });
    const { alerts, book } = run(
      [
        disk(0, { replication_slots: [lost], replication_slot_count: 1, max_slot_wal_keep_size_mb: 300 }),
        disk(60, { replication_slots: [lost], replication_slot_count: 1 }),
        disk(120, { replication_slots: [], replication_slot_count: 0 }),
      ],
      policy({ walDiskBudgetMb: null }),
    );
    expect(alerts.map((a) => [a.kind, a.state, a.slot, a.reason])).toEqual([
      ['slot_lost', 'firing', 'stuck', 'wal_removed'],
      ['slot_lost', 'resolved', 'stuck', 'dropped'],
    ]);
    expect(alerts[0]?.detail).toBe(
      `replication slot stuck (physical) was invalidated: it needed WAL that was removed: it held more than max_slot_wal_keep_size (max_slot_wal_keep_size 300 MB); inactive since ${at(0)}; its consumer must be rebuilt (drop the slot once it is)`,
    );
    for (const a of alerts) expect(AlertV1.parse(a)).toEqual(a);
    expect(book.firing).toEqual({});
  });

  it('alerts - before 17 wal_status lost is the only sign, and means removed WAL; 18 names an idle timeout', () => {
    const [old] = run([disk(0, { replication_slots: [slot('s', 0, { retained_bytes: null, wal_status: 'lost' })] })]).alerts;
    expect(old).toMatchObject({ kind: 'slot_lost', reason: 'wal_removed' });
    expect(old?.detail).toContain('PostgreSQL before 17 gives no other cause');
    const idle = slot('i', 0, { retained_bytes: null, wal_status: 'lost', invalidation_reason: 'idle_timeout', inactive_since: at(0) });
    const [timeout] = run([disk(0, { replication_slots: [idle], idle_replication_slot_timeout_s: 3600 })]).alerts;
    expect(timeout).toMatchObject({ kind: 'slot_lost', slot: 'i', reason: 'idle_timeout' });
    expect(timeout?.detail).toContain('it was idle for longer than idle_replication_slot_timeout (3600 s)');
  });
});

describe('alerts - wal_disk_forecast', () => {
  it('alerts - fires when the budget is forecast within the horizon, naming eta and cause; resolves past 1.25 horizons or when nothing grows', () => {
    const p = policy({ walDiskBudgetMb: 1000, forecastHorizonSec: 3600 });
    const f = (etaSec: number | null) => ({
      etaSec,
      cause: etaSec === null ? null : ('replication_slot' as const),
      slot: etaSec === null ? null : 'stuck',
      rates: { replication_slot: null, archiver: null, pg_wal: null },
      archiverBacklog: null,
      usedBytes: 300 * MB,
      budgetBytes: 1000 * MB,
      detail: etaSec === null ? 'nothing that holds WAL is growing' : `the budget is reached in about ${etaSec} s`,
    });
    let book = NO_ALERTS;
    const out = [];
    for (const [t, eta] of [[0, 7200], [60, 3000], [120, 2000], [180, 4000], [240, null]] as const) {
      const r = evaluateAlerts(book, disk(t, {}), p, { bound: null, forecast: f(eta) });
      book = r.state;
      out.push(...r.alerts);
    }
    expect(out.map((a) => [a.kind, a.state, a.eta_seconds, a.cause, a.slot, a.at])).toEqual([
      ['wal_disk_forecast', 'firing', 3000, 'replication_slot', undefined, at(60)],
      ['wal_disk_forecast', 'resolved', null, null, undefined, at(240)],
    ]);
    expect(out[0]?.detail).toBe('the budget is reached in about 3000 s, within walrus.forecast_horizon_sec 1 h 0 min');
    for (const a of out) expect(AlertV1.parse(a)).toEqual(a);
  });

  it('alerts - a firing forecast that named pg_wal fires again once naming the holder whose trend appears, and never swaps one holder for another', () => {
    const p = policy({ walDiskBudgetMb: 1000, forecastHorizonSec: 3600 });
    const f = (cause: 'pg_wal' | 'archiver' | 'replication_slot', etaSec: number) => ({
      etaSec,
      cause,
      slot: cause === 'replication_slot' ? 'stuck' : null,
      rates: { replication_slot: null, archiver: null, pg_wal: null },
      archiverBacklog: null,
      usedBytes: 300 * MB,
      budgetBytes: 1000 * MB,
      detail: `${cause} fills the budget in about ${etaSec} s`,
    });
    let book = NO_ALERTS;
    const out = [];
    for (const [t, cause] of [[0, 'pg_wal'], [1, 'pg_wal'], [2, 'archiver'], [3, 'archiver'], [4, 'replication_slot'], [5, 'pg_wal']] as const) {
      const r = evaluateAlerts(book, disk(t, {}), p, { bound: null, forecast: f(cause, 600) });
      book = r.state;
      out.push(...r.alerts);
    }
    expect(out.map((a) => [a.state, a.cause, a.at])).toEqual([
      ['firing', 'pg_wal', at(0)],
      ['firing', 'archiver', at(2)],
    ]);
    // One firing episode: it started with the first event.
    expect(book.firing['wal_disk_forecast']).toEqual({ since: at(0), cause: 'archiver' });
    expect(new Set(out.map((a) => a.id)).size).toBe(2);
  });
});

describe('alerts - slot_retention under walrus.bound_slots', () => {
  it('alerts - a slot at risk of invalidation is warned about before it holds 80 % of the budget, with its keep size and grace', () => {
    const p = policy({ walDiskBudgetMb: 1000, boundSlots: true, slotGraceSec: 600 });
    const s = slot('stuck', 300);
    const bound = { boundMb: 400, marginMb: 100, floorMb: 0, keepMb: 400, protecting: null, grace: {}, currentMb: 400, changeNeeded: false, reason: '' };
    const risk = { slot: s, retainedBytes: 300 * MB, etaSec: 100, graceEndsAt: at(600), graceShortOfMb: null };
    const r = evaluateAlerts(NO_ALERTS, disk(0, { replication_slots: [s] }), p, { bound: { ...bound, atRisk: [risk] }, forecast: null });
    expect(r.alerts.map((a) => [a.kind, a.state, a.slot, a.slot_keep_mb, a.grace_ends_at])).toEqual([['slot_retention', 'firing', 'stuck', 400, at(600)]]);
    expect(r.alerts[0]?.detail).toBe(
      `replication slot stuck (inactive) holds 300 MB: max_slot_wal_keep_size 400 MB (walrus.bound_slots) invalidates it in about 100 s at the current WAL rate, not before the end of its grace at ${at(600)}`,
    );
    // A grace the budget cannot keep is not promised.
    const short = evaluateAlerts(NO_ALERTS, disk(0, { replication_slots: [s] }), p, { bound: { ...bound, atRisk: [{ ...risk, graceShortOfMb: 900 }] }, forecast: null });
    expect(short.alerts[0]?.detail).toBe(
      `replication slot stuck (inactive) holds 300 MB: max_slot_wal_keep_size 400 MB (walrus.bound_slots) invalidates it in about 100 s at the current WAL rate, possibly before the end of its grace at ${at(600)}: the grace needs 900 MB at the current WAL rate, more than walrus.wal_disk_budget leaves`,
    );
    // No longer at risk and under 70 % of the budget: resolved.
    const later = evaluateAlerts(r.state, disk(60, { replication_slots: [slot('stuck', 100)] }), p, { bound: { ...bound, atRisk: [] }, forecast: null });
    expect(later.alerts.map((a) => [a.kind, a.state])).toEqual([['slot_retention', 'resolved']]);
  });
});

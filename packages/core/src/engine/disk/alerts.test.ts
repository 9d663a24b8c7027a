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

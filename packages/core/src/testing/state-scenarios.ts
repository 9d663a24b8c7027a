/*
 * The scenarios behind the cluster-state fixtures (engine/state/fixtures/):
 * samples that leave something in every part of the state (the WAL
 * tracker, a time profile, an algorithm's own state, members with a
 * failover and a standby sync, the slots' memory and firing alerts). Run
 * through a real decider by test/state-versions.test.ts, which writes the
 * fixtures of the current version when WALRUS_WRITE_STATE_FIXTURES=1; the
 * v1 fixtures were written by the deciders of version 1 from these same
 * samples.
 */
import type { ReplicationSlot } from '../disk-schemas.js';
import type { Sample } from '../schemas.js';
import { sampleWith } from './builders.js';

export interface StateScenario {
  /** The fixture's name: fixtures/v<version>-<name>.json. */
  name: string;
  /** Service defaults (WALRUS_* variables) the decider ran with. */
  env: Record<string, string>;
  samples: Sample[];
}

/** The decider's environment for every scenario. */
export const SCENARIO_ENV: Record<string, string> = { WALRUS_COOLDOWN_SEC: '60', WALRUS_MAX_CHANGES_PER_HOUR: '3' };

const T0 = Date.parse('2026-01-10T10:00:00Z');
const MB = 1024 * 1024;
const iso = (sec: number): string => new Date(T0 + sec * 1000).toISOString();
const lsn = (bytes: number): string => `${Math.floor(bytes / 2 ** 32).toString(16).toUpperCase()}/${(bytes % 2 ** 32).toString(16).toUpperCase()}`;

function s(cluster: string, sec: number, requested: number, walBytes: number, over: Partial<Sample> = {}): Sample {
  return sampleWith({
    cluster,
    collected_at: iso(sec),
    checkpoints_requested: requested,
    checkpoints_timed: Math.floor(sec / 60),
    wal_bytes: walBytes,
    wal_lsn: lsn(walBytes),
    checkpoint_timeout_s: 60,
    wal_segment_size_bytes: 16 * MB,
    ...over,
  });
}

/** multiplicative: baseline, growth, a skip in the cooldown, quiet intervals, a time profile in force. */
function multiplicative(): Sample[] {
  const profiles = JSON.stringify([{ name: 'always', start_hour: 0, end_hour: 24, overrides: { 'walrus.threshold': '2' } }]);
  const sizes = [1024, 1024, 4096, 4096, 4096, 4096];
  const requested = [0, 3, 3, 6, 6, 6];
  return sizes.map((size, i) =>
    s('fix-multiplicative', i * 30, requested[i] ?? 0, 100 * MB + (i + 1) * 40 * MB, {
      max_wal_size_mb: size,
      checkpoint_redo_bytes: 90 * MB + (i + 1) * 32 * MB,
      settings: { 'walrus.profiles': profiles },
    }),
  );
}

/** adaptive: whole intervals measured, forced checkpoints, a growth (its own busyAt state). */
function adaptive(): Sample[] {
  const out: Sample[] = [];
  let wal = 10 * MB;
  let redo = 8 * MB;
  let requested = 0;
  let size = 64;
  for (let i = 0; i < 12; i++) {
    wal += (i < 6 ? 2 : 12) * 5 * MB;
    redo += i < 6 ? 0 : 48 * MB;
    if (i >= 6 && i < 9) requested += 2;
    if (i === 10) size = 1200;
    out.push(s('fix-adaptive', i * 5 + (i >= 6 ? 60 : 0), requested, wal, { max_wal_size_mb: size, checkpoint_redo_bytes: redo, settings: { 'walrus.algorithm': 'adaptive' } }));
  }
  return out;
}

/** Members: A primary, B standby; a growth on A, B brought to the cluster's size, then a failover to B (timeline 2) below the size. */
function members(): Sample[] {
  const A = 'db1:5432';
  const B = 'db2:5433';
  return [
    s('fix-members', 0, 0, 100 * MB, { member: A, timeline: 1, max_wal_size_mb: 64 }),
    s('fix-members', 1, 500, 99 * MB, { member: B, timeline: 1, in_recovery: true, max_wal_size_mb: 64 }),
    s('fix-members', 60, 4, 200 * MB, { member: A, timeline: 1, max_wal_size_mb: 64 }),
    s('fix-members', 90, 4, 220 * MB, { member: A, timeline: 1, max_wal_size_mb: 320 }),
    s('fix-members', 91, 501, 219 * MB, { member: B, timeline: 1, in_recovery: true, max_wal_size_mb: 64 }),
    s('fix-members', 200, 30, 300 * MB, { member: B, timeline: 2, in_recovery: false, max_wal_size_mb: 64 }),
    s('fix-members', 230, 31, 320 * MB, { member: B, timeline: 2, in_recovery: false, max_wal_size_mb: 64 }),
  ];
}

/** Disk: a budget, a slot over 80 % of it, pg_wal over 80 %, a failing archiver: three alerts firing, the slots' memory. */
function disk(): Sample[] {
  const slot = (name: string, retained: number): ReplicationSlot => ({ name, type: 'physical', active: false, wal_status: 'extended', retained_bytes: retained, safe_wal_size_bytes: null });
  const budget = { 'walrus.wal_disk_budget': '1GB' };
  return [
    s('fix-disk', 0, 0, 500 * MB, { settings: budget, max_wal_size_mb: 256, pg_wal_bytes: 300 * MB, replication_slots: [slot('s1', 200 * MB)], replication_slot_count: 1, wal_keep_size_mb: 0 }),
    s('fix-disk', 60, 0, 560 * MB, {
      settings: budget,
      max_wal_size_mb: 256,
      pg_wal_bytes: 900 * MB,
      replication_slots: [slot('s1', 850 * MB), slot('s2', 10 * MB)],
      replication_slot_count: 2,
      wal_keep_size_mb: 0,
      archiver: {
        mode: 'on',
        configured: true,
        archived_count: 3,
        failed_count: 7,
        last_archived_wal: '000000010000000000000003',
        last_archived_at: iso(0),
        last_failed_wal: '000000010000000000000004',
        last_failed_at: iso(50),
        pending_files: 4,
      },
    }),
  ];
}

export const STATE_SCENARIOS: readonly StateScenario[] = [
  { name: 'multiplicative', env: SCENARIO_ENV, samples: multiplicative() },
  { name: 'adaptive', env: SCENARIO_ENV, samples: adaptive() },
  { name: 'members', env: SCENARIO_ENV, samples: members() },
  { name: 'disk', env: SCENARIO_ENV, samples: disk() },
];

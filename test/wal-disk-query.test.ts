import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { SampleV1 } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPermissionDenied, readSample, readWalDisk } from '@walrus/cluster';
import { cleanupAll, createStandby, PG_VERSIONS, startPostgres, type PostgresCluster } from './harness/mod.js';
import { writeWal } from './harness/load.js';
import { defined } from './harness/defined.js';

afterAll(cleanupAll);

const MB = 1024 * 1024;

// Sequential on purpose: four clusters at once would fight over two cores.
describe.each(PG_VERSIONS)('wal disk query - PostgreSQL %i', (version) => {
  let cluster: PostgresCluster;
  let monitor: pg.Client;

  const superOne = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R> => {
    const row = (await cluster.query<R>(sql, params))[0];
    if (!row) throw new Error(`no row from ${sql}`);
    return row;
  };

  beforeAll(async () => {
    cluster = await startPostgres({ version, config: { max_wal_size: '64MB', checkpoint_timeout: '30s', wal_keep_size: '48MB' } });
    // The collector's least privilege: pg_monitor and nothing else.
    await cluster.query('CREATE ROLE walrus_monitor LOGIN');
    await cluster.query('GRANT pg_monitor TO walrus_monitor');
    await cluster.query('CREATE ROLE walrus_bare LOGIN');
    monitor = await cluster.connect({ user: 'walrus_monitor' });
  });
  afterAll(async () => {
    await cluster?.cleanup();
  });

  it('wal disk query - pg_monitor reads pg_wal, wal_keep_size and an archiver that is off; the fields fit the Sample', async () => {
    const d = await readWalDisk(monitor);
    const truth = await superOne<{ bytes: string }>('SELECT sum(size)::text AS bytes FROM pg_ls_waldir()');
    // WAL may be written (or a segment recycled) between the two reads: within a segment or two.
    expect(Math.abs(defined(d.pg_wal_bytes) - Number(truth.bytes))).toBeLessThanOrEqual(2 * 16 * MB);
    expect(d.pg_wal_bytes).toBeGreaterThan(0);
    expect(d.wal_keep_size_mb).toBe(48);
    expect(d.replication_slots).toEqual([]);
    expect(d.replication_slot_count).toBe(0);
    expect(d.archiver).toMatchObject({ mode: 'off', configured: false, failed_count: 0, pending_files: null });
    expect(d.max_slot_wal_keep_size_mb).toBe(-1);
    // idle_replication_slot_timeout exists from 18 on (0 = off by default).
    expect(d.idle_replication_slot_timeout_s).toBe(version >= 18 ? 0 : undefined);
    await cluster.query("ALTER SYSTEM SET max_slot_wal_keep_size = '2GB'");
    await cluster.query('SELECT pg_reload_conf()');
    await expect.poll(async () => (await readWalDisk(monitor)).max_slot_wal_keep_size_mb).toBe(2048);
    await cluster.query('ALTER SYSTEM RESET max_slot_wal_keep_size');
    await cluster.query('SELECT pg_reload_conf()');
    await expect.poll(async () => (await readWalDisk(monitor)).max_slot_wal_keep_size_mb).toBe(-1);
    const s = { ...(await readSample(monitor, `pg${version}`, [], () => new Date())), ...d };
    expect(SampleV1.parse(s)).toEqual(s);
  });

  it('wal disk query - an inactive physical slot holds the WAL written since it was created, and says so', async () => {
    await cluster.query("SELECT pg_create_physical_replication_slot('walrus_stuck', true)");
    const start = await superOne<{ b: string }>("SELECT (restart_lsn - '0/0'::pg_lsn)::text AS b FROM pg_replication_slots WHERE slot_name = 'walrus_stuck'");
    await writeWal(cluster, { rounds: 2 });
    const now = await superOne<{ b: string }>("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS b");
    const d = await readWalDisk(monitor);
    const after = await superOne<{ b: string }>("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS b");
    expect(d.replication_slot_count).toBe(1);
    const slot = defined(defined(d.replication_slots)[0], 'the slot');
    expect(slot).toMatchObject({ name: 'walrus_stuck', type: 'physical', active: false, safe_wal_size_bytes: null });
    expect(['reserved', 'extended']).toContain(slot.wal_status);
    expect(slot.retained_bytes).toBeGreaterThanOrEqual(Number(now.b) - Number(start.b));
    expect(slot.retained_bytes).toBeLessThanOrEqual(Number(after.b) - Number(start.b));
    expect(slot.retained_bytes).toBeGreaterThan(10 * MB);
    // 17+ say since when nobody consumes it and (null) why it was invalidated; 15 and 16 cannot, and the fields are left out.
    if (version >= 17) {
      expect(slot.invalidation_reason).toBeNull();
      expect(Date.parse(defined(slot.inactive_since))).toBeGreaterThan(Date.now() - 600_000);
    } else {
      expect(slot).not.toHaveProperty('invalidation_reason');
      expect(slot).not.toHaveProperty('inactive_since');
    }
    await cluster.query("SELECT pg_drop_replication_slot('walrus_stuck')");
    expect((await readWalDisk(monitor)).replication_slots).toEqual([]);
  });

  it('wal disk query - slots are listed holding the most WAL first; a slot that reserves nothing holds nothing', async () => {
    await cluster.query("SELECT pg_create_physical_replication_slot('walrus_old', true)");
    await writeWal(cluster, { rounds: 1 });
    await cluster.query("SELECT pg_create_physical_replication_slot('walrus_new', true)");
    await cluster.query("SELECT pg_create_physical_replication_slot('walrus_lazy', false)");
    const d = await readWalDisk(monitor);
    const slots = defined(d.replication_slots, 'the slots');
    expect(slots.map((s) => s.name)).toEqual(['walrus_old', 'walrus_new', 'walrus_lazy']);
    expect(slots[2]).toMatchObject({ retained_bytes: null, wal_status: null });
    expect(defined(slots[0]?.retained_bytes)).toBeGreaterThan(defined(slots[1]?.retained_bytes));
    for (const name of ['walrus_old', 'walrus_new', 'walrus_lazy']) await cluster.query('SELECT pg_drop_replication_slot($1)', [name]);
  });

  it('wal disk query - a role without pg_monitor is refused with permission denied (the collector then samples without these fields)', async () => {
    const bare = await cluster.connect({ user: 'walrus_bare' });
    const err = await readWalDisk(bare).catch((e: unknown) => e);
    expect(isPermissionDenied(err)).toBe(true);
    expect(String(err)).toMatch(/permission denied for function pg_ls_waldir/);
    // The sample itself does not need pg_monitor.
    await expect(readSample(bare, 'c', [], () => new Date())).resolves.toMatchObject({ cluster: 'c' });
    await bare.end();
  });

  it('wal disk query - on a standby: measured against the replayed position, with pg_monitor', async () => {
    const standby = await createStandby(cluster);
    await standby.query("SELECT pg_create_physical_replication_slot('walrus_cascade', true)");
    // Roles replicate: the primary's walrus_monitor logs in here too.
    const c = await standby.connect({ user: 'walrus_monitor' });
    const d = await readWalDisk(c);
    expect(d.pg_wal_bytes).toBeGreaterThan(0);
    expect(d.replication_slots).toEqual([expect.objectContaining({ name: 'walrus_cascade', type: 'physical' })]);
    expect(defined(d.replication_slots)[0]?.retained_bytes).not.toBeNull();
    // The primary sees the standby's own slot, active.
    const p = await readWalDisk(monitor);
    expect(p.replication_slots).toEqual([expect.objectContaining({ name: standby.slotName, active: true })]);
    await c.end();
    await standby.cleanup();
  });
});

describe.each(PG_VERSIONS)('wal disk query - archiving, PostgreSQL %i', (version) => {
  it('wal disk query - archive_command = false: failures counted, segments waiting, readable by pg_monitor; no command at all is seen too', async () => {
    const cluster = await startPostgres({ version, config: { archive_mode: 'on', archive_command: 'false', max_wal_size: '64MB' } });
    try {
      await cluster.query('CREATE ROLE walrus_monitor LOGIN');
      await cluster.query('GRANT pg_monitor TO walrus_monitor');
      const c = await cluster.connect({ user: 'walrus_monitor' });
      await cluster.query('CREATE TABLE t (x int)');
      await cluster.query('SELECT pg_switch_wal()');
      let d = await readWalDisk(c);
      for (let i = 0; i < 150 && (d.archiver?.failed_count ?? 0) === 0; i++) {
        await sleep(200);
        d = await readWalDisk(c);
      }
      expect(d.archiver).toMatchObject({ mode: 'on', configured: true, archived_count: 0, last_archived_at: null });
      const archiver = defined(d.archiver, 'the archiver');
      expect(archiver.failed_count).toBeGreaterThan(0);
      expect(archiver.last_failed_wal).toMatch(/^[0-9A-F]{24}$/);
      expect(Date.parse(defined(archiver.last_failed_at))).toBeGreaterThan(Date.now() - 600_000);
      expect(archiver.pending_files).toBeGreaterThanOrEqual(1);
      await cluster.query("ALTER SYSTEM SET archive_command = ''");
      await cluster.query('SELECT pg_reload_conf()');
      let configured = archiver.configured;
      for (let i = 0; i < 50 && configured; i++) {
        await sleep(100);
        configured = defined((await readWalDisk(c)).archiver).configured;
      }
      expect(configured).toBe(false);
      await c.end();
    } finally {
      await cluster.cleanup();
    }
  });
});

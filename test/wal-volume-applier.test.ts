import { setTimeout as sleep } from 'node:timers/promises';
import { attemptApply } from '@walrus/applier';
import type { Decision } from '@walrus/core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startPostgres, type PostgresCluster } from './harness/mod.js';
import { testDecision } from './harness/messages.js';

afterAll(cleanupAll);

/*
 * walrus.bound_slots on the applier's side (docs/DISK-SAFETY.md): a
 * decision's max_slot_wal_keep_size goes in with its max_wal_size (one
 * reload), alone when the size stays, and needs its own grant.
 */
describe.each([15, 18] as const)('wal volume applier - PostgreSQL %i', (version) => {
  let cluster: PostgresCluster;
  let client: pg.Client;

  const attempt = (d: Decision) => attemptApply({ client, decision: d, verifyTimeoutMs: 10_000, sleep: (ms) => sleep(ms), monotonicMs: () => performance.now() });
  const shown = async (name: string) => (await cluster.query<{ s: string }>(`SELECT setting AS s FROM pg_settings WHERE name = $1`, [name]))[0]?.s;

  beforeAll(async () => {
    cluster = await startPostgres({ version, config: { max_wal_size: '64MB' } });
    await cluster.query('CREATE ROLE walrus_applier LOGIN');
    await cluster.query('GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO walrus_applier');
    await cluster.query('GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO walrus_applier');
    client = await cluster.connect({ user: 'walrus_applier' });
  });
  afterAll(async () => {
    await cluster?.cleanup();
  });

  it('wal volume applier - a keep size needs GRANT ALTER SYSTEM ON PARAMETER max_slot_wal_keep_size, named; nothing is changed without it', async () => {
    const a = await attempt(testDecision('c', { max_slot_wal_keep_size_mb: 300 }));
    expect(a).toEqual({ kind: 'done', status: 'failed', maxWalSizeMb: null, error: 'missing grant: GRANT ALTER SYSTEM ON PARAMETER max_slot_wal_keep_size TO walrus_applier' });
    expect([await shown('max_wal_size'), await shown('max_slot_wal_keep_size')]).toEqual(['64', '-1']);
    // A decision without one needs only the grant max_wal_size always needed.
    expect(await attempt(testDecision('c', { old_size_mb: 64, new_size_mb: 96 }))).toMatchObject({ status: 'applied', maxWalSizeMb: 96 });
  });

  it('wal volume applier - the keep size goes in with max_wal_size, and alone when the size stays; both read back', async () => {
    await cluster.query('GRANT ALTER SYSTEM ON PARAMETER max_slot_wal_keep_size TO walrus_applier');
    const both = await attempt(testDecision('c', { old_size_mb: 96, new_size_mb: 128, max_slot_wal_keep_size_mb: 300 }));
    expect(both).toEqual({ kind: 'done', status: 'applied', maxWalSizeMb: 128, error: null, slotKeepMb: 300 });
    expect([await shown('max_wal_size'), await shown('max_slot_wal_keep_size')]).toEqual(['128', '300']);
    const alone = await attempt(testDecision('c', { action: 'decrease', old_size_mb: 128, new_size_mb: 128, max_slot_wal_keep_size_mb: 200 }));
    expect(alone).toEqual({ kind: 'done', status: 'applied', maxWalSizeMb: 128, error: null, slotKeepMb: 200 });
    expect([await shown('max_wal_size'), await shown('max_slot_wal_keep_size')]).toEqual(['128', '200']);
    // Redelivered: already in force, nothing to do, still applied.
    expect(await attempt(testDecision('c', { action: 'decrease', old_size_mb: 128, new_size_mb: 128, max_slot_wal_keep_size_mb: 200 }))).toMatchObject({ status: 'applied', slotKeepMb: 200 });
    // Someone else changed max_wal_size: stale, and the keep size is left alone too.
    expect(await attempt(testDecision('c', { old_size_mb: 64, new_size_mb: 256, max_slot_wal_keep_size_mb: 100 }))).toMatchObject({ status: 'stale', maxWalSizeMb: 128 });
    expect(await shown('max_slot_wal_keep_size')).toBe('200');
    // Only these two parameters: anything else is still refused.
    await expect(client.query(`ALTER SYSTEM SET wal_keep_size = '1GB'`)).rejects.toThrow(/permission denied to set parameter/);
  });
});

import { jetstreamManager } from '@nats-io/jetstream';
import type { ApplyResult, Decision } from '@walrus/core';
import { historian, loadMigrations, migrate } from '@walrus/historian';
import { createLogger } from '@walrus/runtime';
import pgLib from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { publishJs, startInProcess, type InProcessService } from './harness/in-process.js';
import { testDecision } from './harness/messages.js';
import { defined } from './harness/defined.js';

let nats: NatsServer;
let pg: PostgresCluster;
let svc: InProcessService;

beforeAll(async () => {
  [nats, pg] = await Promise.all([startNats(), startPostgres({ version: 16 })]);
  await pg.query('CREATE DATABASE history');
  svc = await startInProcess(historian, { HISTORY_DATABASE_URL: pg.urlFor('history'), WALRUS_HISTORY_RETENTION_DAYS: '7' }, nats.url);
});
afterAll(async () => {
  await svc?.stop();
  await cleanupAll();
});

function decision(over: Partial<Decision> = {}): Decision {
  return testDecision('h1', { old_size_mb: 1024, new_size_mb: 4096, metadata: { delta: 3 }, ...over });
}

function outcome(d: Decision, status: ApplyResult['status'], error: string | null = null): ApplyResult {
  return { v: 1, decision_id: d.id, cluster: d.cluster, status, applied_at: new Date().toISOString(), max_wal_size_mb: d.new_size_mb, error };
}

const rowsFor = (id: string) =>
  pg.query<{ action: string; apply_status: string | null; apply_error: string | null }>(
    'SELECT action, apply_status, apply_error FROM walrus.history WHERE decision_id = $1',
    [id],
    { database: 'history' },
  );

describe('historian - every decision once, outcomes on the same row', () => {
  it('stores a decision published twice (past the dedup window) once', async () => {
    const d = decision();
    await publishJs(svc.nc, 'walrus.decision.h1', d, 'one');
    await publishJs(svc.nc, 'walrus.decision.h1', d, 'two');
    await publishJs(svc.nc, 'walrus.applied.h1', outcome(d, 'applied'));
    await waitFor(async () => (await rowsFor(d.id))[0]?.apply_status === 'applied', { what: 'applied row', timeoutMs: 15_000 });
    expect(await rowsFor(d.id)).toHaveLength(1);
  });

  it('keeps an outcome that arrives before its decision and merges it', async () => {
    const d = decision({ cluster: 'h2' });
    await publishJs(svc.nc, 'walrus.applied.h2', outcome(d, 'stale', 'changed by someone else'));
    await waitFor(
      async () =>
        (await pg.query('SELECT 1 FROM walrus.pending_outcomes WHERE decision_id = $1', [d.id], { database: 'history' })).length === 1,
      { what: 'the pending outcome', timeoutMs: 15_000 },
    );
    await publishJs(svc.nc, 'walrus.decision.h2', d);
    await waitFor(async () => (await rowsFor(d.id))[0]?.apply_status === 'stale', { what: 'merged row', timeoutMs: 15_000 });
    expect(await rowsFor(d.id)).toEqual([{ action: 'increase', apply_status: 'stale', apply_error: 'changed by someone else' }]);
    expect(await pg.query('SELECT 1 FROM walrus.pending_outcomes WHERE decision_id = $1', [d.id], { database: 'history' })).toEqual([]);
  });

  it('never replaces an applied outcome with a later one', async () => {
    const d = decision({ cluster: 'h3' });
    await publishJs(svc.nc, 'walrus.decision.h3', d);
    await publishJs(svc.nc, 'walrus.applied.h3', outcome(d, 'applied'));
    await publishJs(svc.nc, 'walrus.applied.h3', outcome(d, 'failed', 'expired'));
    const marker = decision({ cluster: 'h3' });
    await publishJs(svc.nc, 'walrus.decision.h3', marker);
    await waitFor(async () => (await rowsFor(marker.id)).length === 1, { what: 'the marker after both outcomes', timeoutMs: 15_000 });
    expect((await rowsFor(d.id))[0]).toMatchObject({ apply_status: 'applied', apply_error: null });
  });

  it('dead-letters invalid messages with the reason and keeps consuming', async () => {
    const poison = ['not json', JSON.stringify({ ...decision(), v: 2 }), JSON.stringify({ ...decision({ cluster: 'other' }) })];
    for (const p of poison) await publishJs(svc.nc, 'walrus.decision.h4', p);
    const good = decision({ cluster: 'h4' });
    await publishJs(svc.nc, 'walrus.decision.h4', good);
    await waitFor(async () => (await rowsFor(good.id)).length === 1, { what: 'the valid decision stored', timeoutMs: 15_000 });
    const jsm = await jetstreamManager(svc.nc);
    const dlq = await waitFor(
      async () => {
        const info = await jsm.streams.info('WALRUS_DLQ', { subjects_filter: 'walrus.dlq.historian' });
        return info.state.subjects?.['walrus.dlq.historian'] === 3 ? info : null;
      },
      { what: 'three dead letters', timeoutMs: 15_000 },
    );
    expect(dlq.state.messages).toBeGreaterThanOrEqual(3);
    const first = await jsm.streams.getMessage('WALRUS_DLQ', { last_by_subj: 'walrus.dlq.historian' });
    expect(first?.header.get('Walrus-Error')).toMatch(/cluster mismatch/);
    expect(first?.header.get('Walrus-Original-Subject')).toBe('walrus.decision.h4');
    const metrics = await svc.registry.metrics();
    expect(metrics).toMatch(/walrus_dead_letters_total\{service="historian",reason="bad JSON"\} 1/);
    expect(metrics).toMatch(/walrus_dead_letters_total\{service="historian",reason="schema violation"\} 1/);
  });

  it('cleanup_history() deletes rows older than the retention and returns how many', async () => {
    const old = decision({ cluster: 'h5', decided_at: new Date(Date.now() - 10 * 86400_000).toISOString() });
    const recent = decision({ cluster: 'h5' });
    await publishJs(svc.nc, 'walrus.decision.h5', old);
    await publishJs(svc.nc, 'walrus.decision.h5', recent);
    await waitFor(async () => (await rowsFor(recent.id)).length === 1 && (await rowsFor(old.id)).length === 1, {
      what: 'both rows',
      timeoutMs: 15_000,
    });
    const [res] = await pg.query<{ n: string }>('SELECT walrus.cleanup_history() AS n', [], { database: 'history' });
    expect(Number(defined(res).n)).toBe(1);
    expect(await rowsFor(old.id)).toEqual([]);
    expect(await rowsFor(recent.id)).toHaveLength(1);
    const [zero] = await pg.query<{ n: string }>('SELECT walrus.cleanup_history(0) AS n', [], { database: 'history' });
    expect(Number(defined(zero).n)).toBeGreaterThanOrEqual(1);
    expect(await rowsFor(recent.id)).toEqual([]);
  });
});

describe.concurrent('historian - an existing schema, and retention over time', () => {
  // Each with its own database and NATS server: a second historian on the shared
  // server would take a share of the other tests' messages (one durable consumer).
  async function ownHistorian(database: string, env: Record<string, string> = {}) {
    const own = await startNats();
    const s = await startInProcess(historian, { HISTORY_DATABASE_URL: pg.urlFor(database), ...env }, own.url);
    return s;
  }
  const rowsOf = (database: string, sql: string, params: unknown[] = []) => pg.query<Record<string, unknown>>(sql, params, { database });

  it('migrates a database at migration 1 that holds history: schema brought up to date, rows kept', async () => {
    await pg.query('CREATE DATABASE legacy');
    // An installation made by a historian that knew only the first migration.
    const pool = new pgLib.Pool({ connectionString: pg.urlFor('legacy'), max: 1 });
    try {
      expect(await migrate(pool, createLogger({ level: 'silent', name: 'test' }), loadMigrations().filter((m) => m.version === 1))).toEqual([1]);
    } finally {
      await pool.end();
    }
    const old = [decision({ cluster: 'old1' }), decision({ cluster: 'old1', new_size_mb: 8192 })];
    for (const [i, d] of old.entries()) {
      await rowsOf(
        'legacy',
        `INSERT INTO walrus.history (timestamp, cluster, decision_id, action, old_size_mb, new_size_mb, forced_checkpoints, checkpoint_timeout_sec, reason, metadata, apply_status, applied_at)
         VALUES (now() - make_interval(hours => $1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())`,
        [2 - i, d.cluster, d.id, d.action, d.old_size_mb, d.new_size_mb, d.forced_checkpoints, d.checkpoint_timeout_sec, d.reason, JSON.stringify(d.metadata), i === 0 ? 'applied' : null],
      );
    }
    const before = await rowsOf('legacy', 'SELECT * FROM walrus.history ORDER BY id');
    expect(before).toHaveLength(2);
    await expect(rowsOf('legacy', 'SELECT * FROM walrus.status')).rejects.toThrow(/does not exist/);

    const s = await ownHistorian('legacy');
    try {
      expect((await rowsOf('legacy', 'SELECT version FROM walrus.migrations ORDER BY version')).map((r) => r.version)).toEqual(loadMigrations().map((m) => m.version));
      expect(s.lines.filter((l) => l.msg === 'applied migration').map((l) => l.migration)).toEqual(loadMigrations().slice(1).map((m) => m.name));
      // Every row as it was; the columns later migrations added (004: the members) are empty.
      const after = await rowsOf('legacy', 'SELECT * FROM walrus.history ORDER BY id');
      expect(after.map((r) => Object.fromEntries(Object.keys(defined(before[0])).map((k) => [k, r[k]])))).toEqual(before);
      expect(after.map((r) => [r['primary_member'], r['target_member'], r['apply_members']])).toEqual([
        [null, null, null],
        [null, null, null],
      ]);
      // The status of the clusters that already had history, and new decisions stored beside the old rows.
      expect(await rowsOf('legacy', 'SELECT cluster, decisions, adjustments_applied FROM walrus.status')).toEqual([{ cluster: 'old1', decisions: '2', adjustments_applied: '1' }]);
      const next = decision({ cluster: 'old1' });
      await publishJs(s.nc, 'walrus.decision.old1', next);
      await waitFor(async () => (await rowsOf('legacy', 'SELECT 1 FROM walrus.history WHERE decision_id = $1', [next.id])).length === 1, { what: 'a new decision stored', timeoutMs: 15_000 });
      expect(await rowsOf('legacy', 'SELECT cluster, decisions FROM walrus.status')).toEqual([{ cluster: 'old1', decisions: '3' }]);
    } finally {
      await s.stop();
    }
  });

  it('runs retention every WALRUS_HISTORY_CLEANUP_INTERVAL_SEC, not only at start-up', async () => {
    await pg.query('CREATE DATABASE periodic');
    const s = await ownHistorian('periodic', { WALRUS_HISTORY_CLEANUP_INTERVAL_SEC: '10', WALRUS_HISTORY_RETENTION_DAYS: '7' });
    try {
      // Written after the start-up run: only a later, periodic run can delete it.
      const old = decision({ cluster: 'p1', decided_at: new Date(Date.now() - 30 * 86400_000).toISOString() });
      const recent = decision({ cluster: 'p1' });
      for (const d of [old, recent]) await publishJs(s.nc, 'walrus.decision.p1', d);
      await waitFor(async () => (await rowsOf('periodic', 'SELECT 1 FROM walrus.history WHERE cluster = $1', ['p1'])).length === 2, { what: 'both rows stored', timeoutMs: 15_000 });
      const stored = s.lines.length;
      await waitFor(() => s.lines.slice(stored).find((l) => l.msg === 'history retention applied'), { what: 'a periodic retention run', timeoutMs: 30_000, intervalMs: 250 });
      expect(s.lines.slice(stored).find((l) => l.msg === 'history retention applied')).toMatchObject({ deleted: 1, retentionDays: 7 });
      expect((await rowsOf('periodic', 'SELECT decision_id FROM walrus.history')).map((r) => r.decision_id)).toEqual([recent.id]);
      expect(await s.registry.metrics()).toMatch(/walrus_history_rows_deleted_total\{service="historian"\} 1/);
    } finally {
      await s.stop();
    }
  });
});

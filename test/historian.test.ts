import { jetstreamManager } from '@nats-io/jetstream';
import type { ApplyResult, Decision } from '@walrus/core';
import { historian } from '@walrus/historian';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { publishJs, startInProcess, type InProcessService } from './harness/in-process.js';
import { testDecision } from './harness/messages.js';

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
    expect(Number(res!.n)).toBe(1);
    expect(await rowsFor(old.id)).toEqual([]);
    expect(await rowsFor(recent.id)).toHaveLength(1);
    const [zero] = await pg.query<{ n: string }>('SELECT walrus.cleanup_history(0) AS n', [], { database: 'history' });
    expect(Number(zero!.n)).toBeGreaterThanOrEqual(1);
    expect(await rowsFor(recent.id)).toEqual([]);
  });
});

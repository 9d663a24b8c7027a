import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { storedMessages } from './faults/stream.js';
import { testDecision } from './harness/messages.js';
import { maxWalSizeMb, writeWal } from './harness/load.js';
import { cleanupAll, createStandby, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

// The rules at work on a real PostgreSQL 17: each test gets its own cluster
// (and cluster id) and its own walrus processes; NATS is shared.
let nats: NatsServer;
let watch: SubjectWatch;
let nc: NatsConnection;
const running: WalrusProcess[] = [];

beforeAll(async () => {
  nats = await startNats();
  watch = await SubjectWatch.open(nats.url, ['walrus.decision.>', 'walrus.applied.>']);
  nc = await connect({ servers: nats.url, name: 'pipeline-scenarios' });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await nc?.close();
  await watch?.close();
  await cleanupAll();
});

function walrus(args: string[], env: Record<string, string>): WalrusProcess {
  const p = startWalrus(args, { NATS_URL: nats.url, WALRUS_SAMPLE_INTERVAL: '1', ...env });
  running.push(p);
  return p;
}

async function cluster(config: Record<string, string> = {}): Promise<PostgresCluster> {
  const pg = await startPostgres({ version: 17, config: { max_wal_size: '32MB', checkpoint_timeout: '30s', ...config } });
  await pg.query('CREATE DATABASE history');
  return pg;
}

const resultsOf = (id: string) => watch.on(`walrus.applied.${id}`);
/**
 * The decisions JetStream holds for a cluster. The decider publishes a
 * decision (and waits for JetStream's acknowledgement) before it evaluates
 * the cluster's next sample, so after a logged evaluation this is complete
 * for every sample up to it; a subscription might still be catching up.
 */
const storedDecisions = async (id: string) => (await storedMessages(nc, 'WALRUS_DECISIONS', `walrus.decision.${id}`)).map((m) => m.data);

async function historyRows(pg: PostgresCluster, id: string) {
  return pg.query<{ action: string; apply_status: string | null; new_size_mb: number; decision_id: string }>(
    'SELECT action, apply_status, new_size_mb, decision_id FROM walrus.history WHERE cluster = $1 ORDER BY id',
    [id],
    { database: 'history' },
  );
}

describe('pipeline scenarios - PostgreSQL 17', () => {
  it('shrinks after quiet intervals, to the decided size', async () => {
    const pg = await cluster();
    await pg.query("ALTER SYSTEM SET max_wal_size = '256MB'");
    await pg.query('SELECT pg_reload_conf()');
    const w = walrus(['all'], {
      WALRUS_CLUSTERS: `shrink=${pg.url}`,
      HISTORY_DATABASE_URL: pg.urlFor('history'),
      WALRUS_SHRINK_INTERVALS: '3',
      WALRUS_MIN_SIZE: '64MB',
    });
    await w.waitForLog((l) => l.msg === 'started', 'started');
    const d = await watch.next('walrus.decision.shrink', (x) => x.action === 'decrease', 'a decrease');
    expect(d).toMatchObject({ old_size_mb: 256, new_size_mb: 192, forced_checkpoints: 0 });
    expect(d.metadata).toMatchObject({ quiet_intervals: 3, shrink_factor: 0.75 });
    await watch.next('walrus.applied.shrink', (r) => r.decision_id === d.id && r.status === 'applied', 'applied');
    expect(await maxWalSizeMb(pg)).toBe(192);
  });

  it('dry run decides but leaves the server untouched, and history says dry_run', async () => {
    const pg = await cluster();
    const w = walrus(['all'], {
      WALRUS_CLUSTERS: `dry=${pg.url}`,
      HISTORY_DATABASE_URL: pg.urlFor('history'),
      WALRUS_DRY_RUN: 'on',
    });
    await w.waitForLog((l) => l.msg === 'cluster reachable', 'first sample');
    await writeWal(pg, { rounds: 10 });
    const d = await watch.next('walrus.decision.dry', (x) => x.action === 'dry_run', 'a dry_run decision');
    expect(d.metadata).toMatchObject({ would_apply: 'increase' });
    await waitFor(async () => (await historyRows(pg, 'dry')).some((r) => r.action === 'dry_run' && r.decision_id === d.id), {
      what: 'the dry_run history row',
      timeoutMs: 20_000,
    });
    expect(await maxWalSizeMb(pg)).toBe(32);
    // The applier handles a cluster's decisions one at a time, in stream order: an
    // outcome of the dry run would be published before the outcome of a decision
    // stored after it. That one is stale on purpose (computed from 31 MB): nothing changes.
    const marker = testDecision('dry', { old_size_mb: 31, new_size_mb: 64, checkpoint_timeout_sec: 30 });
    await jetstream(nc).publish('walrus.decision.dry', JSON.stringify(marker));
    await watch.next('walrus.applied.dry', (r) => r.decision_id === marker.id, 'the outcome of the marker decision');
    expect(resultsOf('dry').map((r) => [r.decision_id, r.status])).toEqual([[marker.id, 'stale']]);
    expect(await maxWalSizeMb(pg)).toBe(32);
  });

  it('a per-cluster override takes effect without a restart, and an invalid one falls back with a warning', async () => {
    const pg = await cluster();
    // ALTER SYSTEM SET of a walrus.* placeholder works directly on 17+ (README, "Configuration").
    await pg.query("ALTER SYSTEM SET walrus.threshold = '1000'");
    await pg.query("ALTER SYSTEM SET walrus.max = 'lots'");
    await pg.query('SELECT pg_reload_conf()');
    const w = walrus(['all'], { WALRUS_CLUSTERS: `ovr=${pg.url}`, HISTORY_DATABASE_URL: pg.urlFor('history') });
    const warning = await w.waitForLog((l) => l.parameter === 'walrus.max', 'the invalid override warning');
    expect(warning).toMatchObject({ cluster: 'ovr', value: 'lots', level: 40 });
    expect(warning.msg).toMatch(/walrus\.max = "lots" is invalid.*allowed.*MB.*using 4GB instead/);

    // Threshold 1000: forced checkpoints are counted, nothing is decided.
    await writeWal(pg, { rounds: 10 });
    await w.waitForLog((l) => l.cluster === 'ovr' && l.outcome === 'no_change' && /threshold 1000/.test(l.msg), 'a no_change evaluation at threshold 1000');
    expect(await storedDecisions('ovr')).toEqual([]);

    // Lower it on the cluster: the next busy interval grows, no restart.
    await pg.query("ALTER SYSTEM SET walrus.threshold = '1'");
    await pg.query('SELECT pg_reload_conf()');
    await w.waitForLog((l) => l.cluster === 'ovr' && /threshold 1\)/.test(l.msg), 'an evaluation at threshold 1');
    await writeWal(pg, { rounds: 6 });
    const d = await watch.next('walrus.decision.ovr', (x) => x.action === 'increase', 'an increase at threshold 1');
    expect(d.metadata).toMatchObject({ threshold: 1 });
    // The invalid walrus.max fell back to the 4GB default, which is the cap in force.
    const metrics = await (await fetch(`http://127.0.0.1:${(defined(w.lines.find((l) => l.msg === 'started')).metricsPort as number)}/metrics`)).text();
    expect(metrics).toMatch(/walrus_invalid_overrides\{cluster="ovr",service="all"\} 1/);
    expect(metrics).toMatch(/walrus_max_allowed_bytes\{cluster="ovr",service="all"\} 4294967296/);
  });

  it('a manual change between decision and apply gives stale and is not overwritten', async () => {
    const pg = await cluster();
    const env = { WALRUS_CLUSTERS: `stale=${pg.url}`, HISTORY_DATABASE_URL: pg.urlFor('history') };
    // Everything but the applier, so the decision waits in the stream.
    const others = [walrus(['collector'], env), walrus(['decider'], env), walrus(['historian'], env)];
    await defined(others[0]).waitForLog((l) => l.msg === 'cluster reachable', 'first sample');
    await writeWal(pg, { rounds: 10 });
    const d = await watch.next('walrus.decision.stale', (x) => x.action === 'increase', 'an increase');
    // A DBA sets the size by hand before the applier gets to it.
    await pg.query("ALTER SYSTEM SET max_wal_size = '100MB'");
    await pg.query('SELECT pg_reload_conf()');
    walrus(['applier'], env);
    const r = await watch.next('walrus.applied.stale', (x) => x.decision_id === d.id, 'the outcome');
    expect(r).toMatchObject({ status: 'stale', max_wal_size_mb: 100 });
    expect(r.error).toMatch(/100 MB on the server but the decision was computed from 32 MB/);
    expect(await maxWalSizeMb(pg)).toBe(100);
    await waitFor(async () => (await historyRows(pg, 'stale')).find((x) => x.decision_id === d.id)?.apply_status === 'stale', {
      what: 'history row with apply_status stale',
      timeoutMs: 20_000,
    });
  });

  it('a least-privilege role applies; a role without the grants gets a failed result naming them', async () => {
    const pg = await cluster();
    await pg.query("CREATE ROLE walrus_ok LOGIN PASSWORD 'ok'");
    await pg.query('GRANT pg_monitor TO walrus_ok');
    await pg.query('GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO walrus_ok');
    await pg.query('GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO walrus_ok');
    await pg.query("CREATE ROLE walrus_bare LOGIN PASSWORD 'bare'");
    await pg.query('GRANT pg_monitor TO walrus_bare');
    const ok = pg.urlFor('postgres', 'walrus_ok');
    const bare = pg.urlFor('postgres', 'walrus_bare');
    const w = walrus(['all'], {
      // The same server under two ids: one per role.
      WALRUS_CLUSTERS: `granted=${ok},bare=${bare}`,
      HISTORY_DATABASE_URL: pg.urlFor('history'),
    });
    await w.waitForLog((l) => l.msg === 'started', 'started');
    await writeWal(pg, { rounds: 10 });
    const results = await waitFor(
      () => {
        const a = resultsOf('granted')[0];
        const b = resultsOf('bare')[0];
        return a && b ? { a, b } : null;
      },
      { what: 'outcomes for both roles', timeoutMs: 60_000 },
    );
    // Both decided from the same 32 MB; whichever applies first makes the other stale,
    // so the role without grants is checked on its own merits: it can change nothing.
    expect(results.b).toMatchObject({ status: 'failed' });
    expect(results.b.error).toBe(
      'missing grant: GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO walrus_bare; GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO walrus_bare',
    );
    expect(results.a).toMatchObject({ status: 'applied' });
    expect(await maxWalSizeMb(pg)).toBe(results.a.max_wal_size_mb);
  });

  it('a standby is watched but never resized', async () => {
    const primary = await cluster();
    const standby = await createStandby(primary);
    const w = walrus(['all'], {
      WALRUS_CLUSTERS: `primary=${primary.url},standby=${standby.url}`,
      HISTORY_DATABASE_URL: primary.urlFor('history'),
    });
    await w.waitForLog((l) => l.msg === 'cluster reachable' && l.cluster === 'standby', 'the standby sampled');
    await writeWal(primary, { rounds: 10 });
    await watch.next('walrus.applied.primary', (r) => r.status === 'applied', 'the primary resized');
    // Evaluated after the primary's resize, so after the forced checkpoints the standby replayed too.
    const resized = w.lines.length;
    await waitFor(() => w.lines.slice(resized).find((l) => l.cluster === 'standby' && l.outcome === 'standby'), { what: 'a standby evaluation after the resize', timeoutMs: 30_000 });
    expect(await storedDecisions('standby')).toEqual([]);
    expect(await maxWalSizeMb(standby)).toBe(32);
  });
});

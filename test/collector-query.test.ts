import type pg from 'pg';
import { SampleV1, type Sample } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readPressureProbe, readRole, readSample, readServerVersion } from '@walrus/cluster';
import { cleanupAll, createStandby, PG_VERSIONS, startPostgres, waitFor, type PgVersion, type PostgresCluster } from './harness/mod.js';

afterAll(cleanupAll);

const PARAMS = ['walrus.threshold', 'walrus.max', 'walrus.enable'] as const;

interface Counters {
  requested: number;
  timed: number;
  stats_reset: string;
}

/** The version's own view, read independently of the collector's statement. */
function viewOf(version: PgVersion): { sql: string; resetTarget: string } {
  const [view, requested, timed, resetTarget] =
    version >= 17
      ? ['pg_stat_checkpointer', 'num_requested', 'num_timed', 'checkpointer']
      : ['pg_stat_bgwriter', 'checkpoints_req', 'checkpoints_timed', 'bgwriter'];
  return {
    sql: `SELECT ${requested}::int AS requested, ${timed}::int AS timed,
                 to_char(stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS stats_reset
            FROM ${view}`,
    resetTarget,
  };
}

async function one<R extends pg.QueryResultRow>(client: pg.ClientBase, sql: string, params: unknown[] = []): Promise<R> {
  const row = (await client.query<R>(sql, params)).rows[0];
  if (!row) throw new Error(`no row from ${sql}`);
  return row;
}

// Sequential on purpose: four clusters at once would fight over two cores.
describe.each(PG_VERSIONS)('collector query - PostgreSQL %i', (version) => {
  const view = viewOf(version);
  let cluster: PostgresCluster;
  let client: pg.Client;

  const sample = async (c: pg.ClientBase = client): Promise<Sample> => {
    const s = await readSample(c, `pg${version}`, PARAMS, () => new Date());
    SampleV1.parse(s); // exactly the contract's fields and types
    return s;
  };
  const counters = (c: pg.ClientBase = client): Promise<Counters> => one<Counters>(c, view.sql);
  const lsnBytes = async (c: pg.ClientBase, fn: string): Promise<number> =>
    Number((await one<{ b: string }>(c, `SELECT (${fn} - '0/0'::pg_lsn)::text AS b`)).b);

  beforeAll(async () => {
    cluster = await startPostgres({ version, config: { max_wal_size: '32MB', checkpoint_timeout: '30s' } });
    client = await cluster.connect();
  });
  afterAll(async () => {
    await cluster?.cleanup();
  });

  it('collector query - reads server_version_num once per connection', async () => {
    const c = await cluster.connect();
    const spy = vi.spyOn(c, 'query');
    const s1 = await sample(c);
    await sample(c);
    await sample(c);
    expect(spy).toHaveBeenCalledTimes(4); // one version lookup + one statement per sample
    expect(await readServerVersion(c)).toBe(s1.server_version_num);
    expect(spy).toHaveBeenCalledTimes(4);
    expect(Math.floor(s1.server_version_num / 10000)).toBe(version);
    const shown = await one<{ server_version_num: string }>(c, 'SHOW server_version_num');
    expect(s1.server_version_num).toBe(Number(shown.server_version_num));
    await c.end();
  });

  it('collector query - a primary reports pg_current_wal_lsn() and its byte position', async () => {
    const before = await lsnBytes(client, 'pg_current_wal_lsn()');
    const s = await sample();
    const after = await lsnBytes(client, 'pg_current_wal_lsn()');
    expect(s.cluster).toBe(`pg${version}`);
    expect(s.in_recovery).toBe(false);
    // A fresh cluster writes on timeline 1; no member unless the caller names one.
    expect(s.timeline).toBe(1);
    expect(s.member).toBeUndefined();
    expect((await readSample(client, 'c', PARAMS, () => new Date(), { member: '127.0.0.1:5999' })).member).toBe('127.0.0.1:5999');
    expect(s.wal_bytes).toBeGreaterThanOrEqual(before);
    expect(s.wal_bytes).toBeLessThanOrEqual(after);
    expect(await lsnBytes(client, `'${s.wal_lsn}'::pg_lsn`)).toBe(s.wal_bytes);
    expect(Date.parse(s.collected_at)).toBeLessThanOrEqual(Date.now());

    await client.query('CREATE TABLE wal_writer (id int, pad text)');
    await client.query("INSERT INTO wal_writer SELECT g, repeat('x', 100) FROM generate_series(1, 5000) AS g");
    const grown = await sample();
    expect(grown.wal_bytes).toBeGreaterThan(s.wal_bytes + 500_000);
    expect(grown.wal_bytes).toBeLessThanOrEqual(await lsnBytes(client, 'pg_current_wal_lsn()'));
  });

  it("collector query - checkpoint counters are the version's view, and CHECKPOINT counts as requested", async () => {
    const low = await counters();
    const s = await sample();
    const high = await counters();
    // A timed checkpoint may land in between: the sample lies within its bounds.
    expect(s.checkpoints_requested).toBeGreaterThanOrEqual(low.requested);
    expect(s.checkpoints_requested).toBeLessThanOrEqual(high.requested);
    expect(s.checkpoints_timed).toBeGreaterThanOrEqual(low.timed);
    expect(s.checkpoints_timed).toBeLessThanOrEqual(high.timed);
    expect(s.stats_reset).toBe(high.stats_reset);

    await client.query('CHECKPOINT');
    // The checkpointer wakes the waiting backend before it reports its
    // statistics, so the counter may follow CHECKPOINT a moment later.
    const after = await waitFor(
      async () => {
        const next = await sample();
        return next.checkpoints_requested >= s.checkpoints_requested + 1 ? next : undefined;
      },
      { what: `checkpoints_requested to grow after CHECKPOINT on PostgreSQL ${version}`, timeoutMs: 10_000 },
    );
    expect(after.checkpoints_requested).toBe((await counters()).requested);
    // 18 counts the checkpoints really performed (num_done); 17+ have restartpoint counters (0 on a primary); 15 and 16 neither.
    if (version >= 18) {
      const done = await one<{ n: number }>(client, 'SELECT num_done::int AS n FROM pg_stat_checkpointer');
      expect(after.checkpoints_done).toBeGreaterThanOrEqual(1);
      expect(after.checkpoints_done).toBeLessThanOrEqual(done.n);
    } else {
      expect(after).not.toHaveProperty('checkpoints_done');
    }
    if (version >= 17) expect(after).toMatchObject({ restartpoints_requested: 0, restartpoints_timed: 0, restartpoints_done: 0 });
    else expect(after).not.toHaveProperty('restartpoints_done');
  });

  it("collector query - the pressure probe reads a sample's checkpoint counter, WAL position and redo point, on the version's view", async () => {
    await client.query('CHECKPOINT');
    await waitFor(async () => ((await counters()).requested > 0 ? true : undefined), { what: 'a requested checkpoint counted', timeoutMs: 10_000 });
    const before = await sample();
    const probe = await readPressureProbe(client, () => new Date());
    const after = await sample();
    expect(probe.checkpointsRequested).toBeGreaterThan(0);
    for (const [p, b, a] of [
      [probe.checkpointsRequested, before.checkpoints_requested, after.checkpoints_requested],
      [probe.walBytes, before.wal_bytes, after.wal_bytes],
      [probe.redoBytes ?? -1, before.checkpoint_redo_bytes ?? 0, after.checkpoint_redo_bytes ?? 0],
    ] as const) {
      expect(p).toBeGreaterThanOrEqual(b);
      expect(p).toBeLessThanOrEqual(a);
    }
    expect(probe.at.getTime()).toBeGreaterThanOrEqual(Date.parse(before.collected_at));
  });

  it('collector query - a statistics reset drops the counters and moves stats_reset forward', async () => {
    await client.query('CHECKPOINT');
    const before = await waitFor(
      async () => {
        const s = await sample();
        return s.checkpoints_requested >= 1 ? s : undefined;
      },
      { what: 'a requested checkpoint to be counted' },
    );
    expect(before.stats_reset).not.toBeNull();
    await client.query('SELECT pg_stat_reset_shared($1)', [view.resetTarget]);
    const after = await sample();
    expect(after.checkpoints_requested).toBeLessThan(before.checkpoints_requested);
    expect(Date.parse(after.stats_reset ?? '')).toBeGreaterThan(Date.parse(before.stats_reset ?? ''));
    expect(after.stats_reset).toBe((await counters()).stats_reset);
  });

  it('collector query - max_wal_size, checkpoint_timeout and completion target follow the configuration', async () => {
    const s = await sample();
    expect(s.max_wal_size_mb).toBe(32);
    expect(s.checkpoint_timeout_s).toBe(30);
    expect(s.checkpoint_completion_target).toBe(0.9);

    // The collector's long-lived session sees a reload once it processes the
    // SIGHUP, which may be a moment after pg_reload_conf() returns.
    const admin = await cluster.connect();
    const reloadedTo = async (mb: number): Promise<void> => {
      await admin.query('SELECT pg_reload_conf()');
      await waitFor(async () => (await sample()).max_wal_size_mb === mb, { what: `max_wal_size_mb ${mb} after reload on PostgreSQL ${version}` });
    };
    await admin.query('ALTER SYSTEM SET max_wal_size = 64');
    await reloadedTo(64);
    await admin.query("ALTER SYSTEM SET max_wal_size = '2GB'");
    await reloadedTo(2048);
    await admin.query("ALTER SYSTEM SET checkpoint_timeout = '5min'");
    await admin.query('ALTER SYSTEM RESET max_wal_size');
    await reloadedTo(32);
    expect((await sample()).checkpoint_timeout_s).toBe(300);
    await admin.query('ALTER SYSTEM RESET checkpoint_timeout');
    await admin.query('SELECT pg_reload_conf()');
    await waitFor(async () => (await sample()).checkpoint_timeout_s === 30, { what: 'checkpoint_timeout back to 30 s' });
    await admin.end();
  });

  it('collector query - walrus.* settings: set ones are reported raw, unset ones are absent', async () => {
    expect((await sample()).settings).toEqual({});
    await client.query("ALTER DATABASE postgres SET walrus.threshold = '5'");
    try {
      // ALTER DATABASE ... SET applies to sessions started afterwards.
      const fresh = await cluster.connect();
      expect((await sample(fresh)).settings).toEqual({ 'walrus.threshold': '5' });
      await fresh.end();
      expect((await sample()).settings).toEqual({});
    } finally {
      await client.query('ALTER DATABASE postgres RESET walrus.threshold');
    }
  });

  it('collector query - a removed walrus.* setting is absent even in a session that saw it', async () => {
    const admin = await cluster.connect();
    if (version < 17) {
      // Before 17, ALTER SYSTEM refuses a placeholder the session has not seen (ARCHITECTURE §3).
      await expect(admin.query("ALTER SYSTEM SET walrus.max = '8GB'")).rejects.toThrow(/unrecognized configuration parameter/);
      await admin.query("SET walrus.max = '8GB'");
    }
    await admin.query("ALTER SYSTEM SET walrus.max = '8GB'");
    await admin.query('SELECT pg_reload_conf()');
    await waitFor(async () => (await sample()).settings['walrus.max'] === '8GB', { what: 'walrus.max after ALTER SYSTEM + reload' });

    await admin.query('ALTER SYSTEM RESET walrus.max');
    await admin.query('SELECT pg_reload_conf()');
    // The PostgreSQL quirk: the placeholder stays in the session, as '' rather than NULL.
    await waitFor(async () => (await one<{ v: string | null }>(client, "SELECT current_setting('walrus.max', true) AS v")).v === '', {
      what: "walrus.max to read '' after ALTER SYSTEM RESET + reload",
    });
    expect((await sample()).settings).toEqual({});
    await admin.end();
  });

  it('collector query - refuses parameter names outside walrus.*', async () => {
    await expect(readSample(client, 'c', ['max_wal_size'], () => new Date())).rejects.toThrow(/walrus parameter names must match/);
    await expect(readSample(client, 'c', ['walrus.Max'], () => new Date())).rejects.toThrow(TypeError);
  });

  it('collector query - a standby reports in_recovery and its replay LSN', async () => {
    const standby = await createStandby(cluster);
    try {
      const sc = await standby.connect();
      const low = await lsnBytes(sc, 'pg_last_wal_replay_lsn()');
      const s = await sample(sc);
      const high = await lsnBytes(sc, 'pg_last_wal_replay_lsn()');
      expect(s.in_recovery).toBe(true);
      expect(s.wal_bytes).toBeGreaterThanOrEqual(low);
      expect(s.wal_bytes).toBeLessThanOrEqual(high);
      expect(s.max_wal_size_mb).toBe(32);
      const c = await counters(sc);
      expect(s.checkpoints_requested).toBeLessThanOrEqual(c.requested);

      await client.query("INSERT INTO wal_writer SELECT g, repeat('y', 100) FROM generate_series(1, 1000) AS g");
      const primaryAt = await lsnBytes(client, 'pg_current_wal_lsn()');
      const caughtUp = await waitFor(
        async () => {
          const next = await sample(sc);
          return next.wal_bytes >= primaryAt ? next : undefined;
        },
        { what: `the standby of PostgreSQL ${version} to replay up to ${primaryAt}` },
      );
      expect(caughtUp.in_recovery).toBe(true);
      expect(caughtUp.wal_bytes).toBeGreaterThan(s.wal_bytes);
      // The standby tells the timeline it receives; promoted, it writes on the next one at once
      // (pg_control_checkpoint() would still name the old one until a checkpoint).
      expect(caughtUp.timeline).toBe(1);
      expect(await readRole(sc)).toEqual({ inRecovery: true, timeline: 1 });
      await standby.promote();
      const promoted = await sample(sc);
      expect(promoted).toMatchObject({ in_recovery: false, timeline: 2 });
      expect(await readRole(sc)).toEqual({ inRecovery: false, timeline: 2 });
    } finally {
      await standby.cleanup();
    }
  });
});

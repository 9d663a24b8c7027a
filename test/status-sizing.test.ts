import { connect, type NatsConnection } from '@nats-io/transport-node';
import { runControlCommand } from '@walrus/cli';
import { control } from '@walrus/control';
import { apiSubject, sampleMsgId, type ApiReply, type Sample, type StatusResult } from '@walrus/core';
import { sampleWith } from '@walrus/core/testing';
import { decider } from '@walrus/decider';
import { historian, loadMigrations, migrate } from '@walrus/historian';
import { createLogger } from '@walrus/runtime';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { publishJs, startInProcess, type InProcessService } from './harness/in-process.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

// What the engine measures (the WAL rate, the size it needs, the time profile
// in force) shows wherever a status does: `walrus status` and
// `walrus status <cluster>`, the walrus.api.status answer, and the history
// database's walrus.status view.
const MB = 1024 * 1024;
const TIMEOUT_S = 300;
const RATE = 1 * MB; // bytes per second
// docs/ALGORITHMS.md: the fewest whole 16 MB segments whose CheckPointSegments - 1 hold rate x checkpoint_timeout:
// 300 MB is 18.75 segments, CheckPointSegments 20 = floor(38 / 1.9), so 38 x 16 MB.
const REQUIRED_MB = 38 * 16;
const PROFILES = JSON.stringify([{ name: 'always', start_hour: 0, end_hour: 24 }]);

let nats: NatsServer;
let pgc: PostgresCluster;
let nc: NatsConnection;
let watch: SubjectWatch;
const services: InProcessService[] = [];

function sample(cluster: string, atMs: number, walBytes: number, requested: number, settings: Record<string, string>): Sample {
  const collected_at = new Date(atMs).toISOString();
  return sampleWith({ cluster, collected_at, checkpoints_requested: requested, wal_lsn: '0/0', wal_bytes: walBytes, checkpoint_timeout_s: TIMEOUT_S, settings });
}

const publish = (s: Sample) => publishJs(nc, `walrus.sample.${s.cluster}`, s, sampleMsgId(s.cluster, s.collected_at));

beforeAll(async () => {
  [nats, pgc] = await Promise.all([startNats(), startPostgres({ version: 17 })]);
  await pgc.query('CREATE DATABASE history');
  const history = pgc.urlFor('history');
  watch = await SubjectWatch.open(nats.url, ['walrus.decision.>']);
  services.push(await startInProcess(historian, { HISTORY_DATABASE_URL: history }, nats.url));
  services.push(await startInProcess(decider, { WALRUS_COOLDOWN_SEC: '0' }, nats.url));
  services.push(await startInProcess(control, { HISTORY_DATABASE_URL: history, WALRUS_PAGE: 'off' }, nats.url));
  nc = await connect({ servers: nats.url, name: 'status-sizing-test' });

  // 'busy': four samples a checkpoint_timeout apart, RATE bytes of WAL a
  // second, under an always-open profile; forced checkpoints in the last
  // interval make a decision. 'fresh': two samples a minute apart, no
  // profile: no whole interval, so no rate yet.
  const t0 = Date.now() - 20 * 60_000;
  const busy = [0, 1, 2, 3].map((i) => sample('busy', t0 + i * TIMEOUT_S * 1000, i * RATE * TIMEOUT_S, i === 3 ? 5 : 0, { 'walrus.profiles': PROFILES }));
  const fresh = [0, 1].map((i) => sample('fresh', t0 + 15 * 60_000 + i * 60_000, i * MB, 0, {}));
  for (const s of [...busy, ...fresh]) await publish(s);
  await watch.next('walrus.decision.busy', (d) => d.sample_at === defined(busy[3]).collected_at, 'the decision of the last busy sample');
  await waitFor(
    async () => {
      const r = (await nc.request(apiSubject('status'), '{}', { timeout: 10_000 })).json<ApiReply<StatusResult>>();
      return r.ok && r.result.clusters.find((c) => c.cluster === 'fresh')?.last_evaluated_at === defined(fresh[1]).collected_at;
    },
    { what: 'the decider to evaluate every sample', timeoutMs: 20_000 },
  );
});

afterAll(async () => {
  await nc?.close();
  await watch?.close();
  for (const s of services.splice(0).reverse()) await s.stop();
  await cleanupAll();
});

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const [name, ...rest] = args;
  const code = await runControlCommand(defined(name), rest, { NATS_URL: nats.url }, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('status - the WAL rate, the required size and the active time profile', () => {
  it('walrus.api.status answers them per cluster', async () => {
    const r = (await nc.request(apiSubject('status'), '{}', { timeout: 10_000 })).json<ApiReply<StatusResult>>();
    if (!r.ok) throw new Error(r.error.message);
    const by = new Map(r.result.clusters.map((c) => [c.cluster, c]));
    expect(by.get('busy')).toMatchObject({ active_profile: 'always', wal_rate_bytes_per_second: RATE, wal_rate_ema_bytes_per_second: RATE, required_size_mb: REQUIRED_MB });
    expect(by.get('fresh')).toMatchObject({ active_profile: null, wal_rate_bytes_per_second: null, wal_rate_ema_bytes_per_second: null, required_size_mb: null });
  });

  it('walrus status shows them in the fleet table and for one cluster', async () => {
    const [fleet, one, other] = await Promise.all([cli(['status']), cli(['status', 'busy']), cli(['status', 'fresh'])]);
    expect([fleet.code, one.code, other.code]).toEqual([0, 0, 0]);
    expect(fleet.out).toMatch(/CLUSTER\s+MAX_WAL_SIZE\s+WALRUS\.MAX\s+WAL RATE\s+REQUIRED\s+REACHABLE/);
    expect(fleet.out).toMatch(new RegExp(`\\nbusy\\s+1024 MB\\s+4096 MB\\s+1\\.0 MB/s\\s+${REQUIRED_MB} MB\\s+yes\\s.*profile always`));
    expect(fleet.out).toMatch(/\nfresh\s+1024 MB\s+4096 MB\s+-\s+-\s+yes\s/);
    expect(fleet.out).not.toMatch(/\nfresh.*profile/);
    expect(one.out).toMatch(/\ntime profile\s+always\n/);
    expect(one.out).toMatch(/\nWAL rate\s+1\.0 MB\/s over the last checkpoint interval \(average 1\.0 MB\/s\)\n/);
    expect(one.out).toMatch(new RegExp(`\\nrequired size\\s+${REQUIRED_MB} MB `));
    expect(other.out).toMatch(/\ntime profile\s+none\n/);
    expect(other.out).toMatch(/\nWAL rate\s+- \(no whole checkpoint interval measured yet\)\n/);
    expect(other.out).toMatch(/\nrequired size\s+-\n/);
  });

  it('the walrus.status view shows them as of the latest decision', async () => {
    const decision = defined(watch.on('walrus.decision.busy').at(-1));
    const rows = await waitFor(
      async () => {
        const r = await pgc.query('SELECT cluster, wal_rate_bytes_per_second, required_size_mb, active_profile, sizing_at FROM walrus.status', [], { database: 'history' });
        return r.length > 0 ? r : null;
      },
      { what: 'the decision in walrus.status', timeoutMs: 20_000 },
    );
    // 'fresh' made no decision, so it has no row (the view is built from decisions).
    expect(rows).toEqual([
      { cluster: 'busy', wal_rate_bytes_per_second: RATE, required_size_mb: REQUIRED_MB, active_profile: 'always', sizing_at: new Date(String(decision.decided_at)) },
    ]);
  });

  it('the migration fills them in for history stored before it', async () => {
    await pgc.query('CREATE DATABASE older');
    const pool = new pg.Pool({ connectionString: pgc.urlFor('older'), max: 1 });
    const log = createLogger({ level: 'silent', name: 'test-migrate' });
    try {
      const all = loadMigrations();
      expect(all.find((m) => m.version === 3)?.name).toBe('003_status_sizing.sql');
      await migrate(pool, log, all.filter((m) => m.version < 3));
      const sizing = { active_profile: 'nightly', wal_rate_bytes_per_second: 2.5 * MB, wal_rate_ema_bytes_per_second: 2 * MB, required_size_mb: 1450 };
      const insert = (id: string, at: string, metadata: object) =>
        pool.query(
          `INSERT INTO walrus.history (timestamp, cluster, decision_id, action, old_size_mb, new_size_mb, forced_checkpoints, checkpoint_timeout_sec, metadata)
           VALUES ($1, $2, $3, 'increase', 1024, 2048, 3, 300, $4)`,
          [at, id === '00000000-0000-4000-8000-000000000003' ? 'plain' : 'old', id, metadata],
        );
      await insert('00000000-0000-4000-8000-000000000001', '2026-01-01T00:00:00Z', { sizing_status: { ...sizing, required_size_mb: 999 } });
      await insert('00000000-0000-4000-8000-000000000002', '2026-01-01T00:05:00Z', { sizing_status: sizing });
      await insert('00000000-0000-4000-8000-000000000003', '2026-01-01T00:05:00Z', { delta: 3 });
      expect(await migrate(pool, log, all)).toContain(3);
      const { rows } = await pool.query('SELECT cluster, wal_rate_bytes_per_second, required_size_mb, active_profile, sizing_at FROM walrus.status ORDER BY cluster');
      // The latest decision's; a cluster whose decisions never said has none.
      expect(rows).toEqual([
        { cluster: 'old', wal_rate_bytes_per_second: 2.5 * MB, required_size_mb: 1450, active_profile: 'nightly', sizing_at: new Date('2026-01-01T00:05:00Z') },
        { cluster: 'plain', wal_rate_bytes_per_second: null, required_size_mb: null, active_profile: null, sizing_at: null },
      ]);
      // Migration 006: each row stored before it has the typed columns, from its metadata.
      const history = await pool.query(
        'SELECT decision_id, sizing_reported, active_profile, wal_rate_bytes_per_second, wal_rate_ema_bytes_per_second, required_size_mb FROM walrus.history ORDER BY decision_id',
      );
      expect(history.rows).toEqual([
        { decision_id: '00000000-0000-4000-8000-000000000001', sizing_reported: true, active_profile: 'nightly', wal_rate_bytes_per_second: 2.5 * MB, wal_rate_ema_bytes_per_second: 2 * MB, required_size_mb: 999 },
        { decision_id: '00000000-0000-4000-8000-000000000002', sizing_reported: true, active_profile: 'nightly', wal_rate_bytes_per_second: 2.5 * MB, wal_rate_ema_bytes_per_second: 2 * MB, required_size_mb: 1450 },
        { decision_id: '00000000-0000-4000-8000-000000000003', sizing_reported: false, active_profile: null, wal_rate_bytes_per_second: null, wal_rate_ema_bytes_per_second: null, required_size_mb: null },
      ]);
    } finally {
      await pool.end();
    }
  });
});

describe('status - the historian reads the decision’s typed sizing_status', () => {
  const decision = (cluster: string, n: number, extra: Record<string, unknown>) => ({
    v: 1,
    id: `00000000-0000-4000-8000-0000000001${String(n).padStart(2, '0')}`,
    cluster,
    decided_at: new Date(Date.now() - 60_000 + n * 1000).toISOString(),
    sample_at: new Date(Date.now() - 61_000 + n * 1000).toISOString(),
    action: 'skipped',
    old_size_mb: 1024,
    new_size_mb: 2048,
    forced_checkpoints: 3,
    checkpoint_timeout_sec: TIMEOUT_S,
    algorithm: 'adaptive',
    reason: 'test',
    metadata: {},
    ...extra,
  });
  const sizing = (rate: number, profile: string | null) => ({ active_profile: profile, wal_rate_bytes_per_second: rate, wal_rate_ema_bytes_per_second: rate, required_size_mb: 700 });
  const statusOf = async (cluster: string, id: string) =>
    waitFor(
      async () => {
        const r = await pgc.query('SELECT last_decision_id, wal_rate_bytes_per_second, required_size_mb, active_profile, sizing_at FROM walrus.cluster_status WHERE cluster = $1', [cluster], {
          database: 'history',
        });
        return r[0]?.['last_decision_id'] === id ? r[0] : null;
      },
      { what: `decision ${id} in walrus.status` },
    );

  it('the typed field, not the copy in metadata; a decision from a decider before the typed field, from its metadata; none leaves the view as it was', async () => {
    // Typed, with a copy that says otherwise: the typed field counts.
    const typed = decision('typed', 1, { sizing_status: sizing(3 * MB, 'day'), metadata: { sizing_status: sizing(9 * MB, 'night') } });
    await publishJs(nc, 'walrus.decision.typed', typed, typed.id);
    expect(await statusOf('typed', typed.id)).toMatchObject({ wal_rate_bytes_per_second: 3 * MB, required_size_mb: 700, active_profile: 'day', sizing_at: new Date(typed.decided_at) });
    // An older decider's decision says it in metadata only.
    const old = decision('older', 2, { metadata: { sizing_status: sizing(4 * MB, null) } });
    await publishJs(nc, 'walrus.decision.older', old, old.id);
    expect(await statusOf('older', old.id)).toMatchObject({ wal_rate_bytes_per_second: 4 * MB, active_profile: null, sizing_at: new Date(old.decided_at) });
    // A later decision that carries none (the member rules judge no counters): the values and their time stay.
    const none = decision('typed', 3, {});
    await publishJs(nc, 'walrus.decision.typed', none, none.id);
    expect(await statusOf('typed', none.id)).toMatchObject({ wal_rate_bytes_per_second: 3 * MB, active_profile: 'day', sizing_at: new Date(typed.decided_at) });
  });
});

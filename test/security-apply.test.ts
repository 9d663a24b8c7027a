import { setTimeout as sleep } from 'node:timers/promises';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { WALRUS_BIN } from '@walrus/cli/launch';
import { applier, attemptApply } from '@walrus/applier';
import type { Decision } from '@walrus/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxWalSizeMb } from './harness/load.js';
import { cleanupAll, freePort, PG_VERSIONS, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { publishJs, type InProcessService } from './harness/in-process.js';
import { inProcessPerTest } from './harness/per-test.js';
import { startPatroniStandIn } from './harness/patroni-standin.js';
import { SubjectWatch } from './harness/watch.js';
import { testDecision } from './harness/messages.js';
import { lastSeqOf, waitAcknowledged } from './harness/consumers.js';
import { storedMessages } from './faults/stream.js';


let nats: NatsServer;
let pg18: PostgresCluster;
let watch: SubjectWatch;
const start = inProcessPerTest(() => nats.url);

beforeAll(async () => {
  [nats, pg18] = await Promise.all([startNats(), startPostgres({ version: 18, config: { max_wal_size: '64MB' } })]);
  watch = await SubjectWatch.open(nats.url, ['walrus.applied.>']);
});
afterAll(async () => {
  await watch?.close();
  await cleanupAll();
});

const decision = testDecision;

const resultFor = (d: Decision) =>
  watch.next(`walrus.applied.${d.cluster}`, (r) => r.decision_id === d.id, `the outcome of ${d.action} ${d.new_size_mb} MB`);

const startApplier = (cluster: string, url: string, env: Record<string, string> = {}) => start(applier, { WALRUS_CLUSTERS: `${cluster}=${url}`, ...env });

/** Publishes a decision, and resolves with its stream sequence. */
async function publishDecision(s: InProcessService, d: Decision): Promise<number> {
  await publishJs(s.nc, `walrus.decision.${d.cluster}`, d);
  return lastSeqOf(s.nc, 'WALRUS_DECISIONS', `walrus.decision.${d.cluster}`);
}

/**
 * Resolves once the applier has acknowledged the decision at `seq`: it is
 * done with it (outcome published, retries over) and will never be handed
 * it again, so what it did to it can be counted.
 */
const settledOn = (s: InProcessService, d: Decision, seq: number) =>
  waitAcknowledged(s.nc, 'WALRUS_DECISIONS', `walrus.decision.${d.cluster}`, seq, { what: `the applier done with ${d.action} ${d.new_size_mb} MB`, timeoutMs: 30_000 });

/** The outcomes JetStream stored for `cluster` (the applier has each one stored before it acknowledges the decision). */
const storedOutcomes = async (s: InProcessService, cluster: string) =>
  (await storedMessages(s.nc, 'WALRUS_DECISIONS', `walrus.applied.${cluster}`)).filter((m) => m.subject === `walrus.applied.${cluster}`);

/** Back to the server's 64 MB, also when a test failed half-way (a later decision computed from 64 MB would be stale). */
async function resetSize(): Promise<void> {
  await pg18.query(`ALTER SYSTEM SET max_wal_size = '64MB'`);
  await pg18.query('SELECT pg_reload_conf()');
}

describe('security - the patroni apply strategy', () => {
  // That it works (ALTER SYSTEM RESET on every member, PATCH /config with
  // basic auth, the value read back) is tested on real Patroni in
  // test/ha-patroni.test.ts; the stand-in is for the error paths.
  it('reports a refusal by Patroni (401) as failed, once, with what to check', async () => {
    const patroni = await startPatroniStandIn({ auth: { user: 'patroni', password: 'right' } });
    const url = `${pg18.url}?walrus_apply=patroni&walrus_patroni_url=${encodeURIComponent(patroni.url)}&walrus_patroni_user=patroni&walrus_patroni_password=wrong`;
    const s = await startApplier('patroni401', url);
    const d = decision('patroni401');
    const seq = await publishDecision(s, d);
    const r = await resultFor(d);
    expect(r).toMatchObject({ status: 'failed' });
    expect(r.error).toMatch(/Patroni PATCH \/config .* answered 401 \(check walrus_patroni_user/);
    // Once: no further PATCH nor outcome after the applier let go of the decision.
    await settledOn(s, d, seq);
    expect(patroni.requests).toHaveLength(1);
    expect(await storedOutcomes(s, 'patroni401')).toHaveLength(1);
    await pg18.query(`ALTER SYSTEM SET max_wal_size = '64MB'`);
    await pg18.query('SELECT pg_reload_conf()');
  });

  it('retries a Patroni that answers 5xx, then applies', async () => {
    try {
      let calls = 0;
      const patroni = await startPatroniStandIn({
        onPatch: async (body) => {
          calls += 1;
          if (calls <= 2) throw new Error('no leader (the DCS is away)');
          const size = (body as { postgresql: { parameters: { max_wal_size: string } } }).postgresql.parameters.max_wal_size;
          await pg18.query(`ALTER SYSTEM SET max_wal_size = '${size.replace(/'/g, '')}'`);
          await pg18.query('SELECT pg_reload_conf()');
          return null;
        },
      });
      const s = await startApplier('patroni5xx', `${pg18.url}?walrus_apply=patroni&walrus_patroni_url=${encodeURIComponent(patroni.url)}`);
      const d = decision('patroni5xx');
      const seq = await publishDecision(s, d);
      expect(await resultFor(d)).toMatchObject({ status: 'applied', max_wal_size_mb: 128, error: null });
      await settledOn(s, d, seq);
      // Two 500s retried (not reported as failed), the third PATCH applied.
      expect(patroni.requests.map((r) => r.path)).toEqual(['/config', '/config', '/config']);
      expect(await storedOutcomes(s, 'patroni5xx')).toHaveLength(1);
      expect(await s.registry.metrics()).toMatch(/walrus_apply_retries_total\{cluster="patroni5xx",service="applier"\} 2/);
      // Said once as a warning, each further attempt at debug level.
      const retries = s.lines.filter((l) => /^cluster (unreachable; will retry until the decision expires|still unreachable)$/.test(l.msg) && l.decisionId === d.id);
      expect(retries.map((l) => String(l.err))).toEqual([expect.stringMatching(/answered 500/), expect.stringMatching(/answered 500/)]);
    } finally {
      await resetSize();
    }
  });

  it('retries an unreachable Patroni REST API until it answers', async () => {
    try {
      const port = await freePort();
      const s = await startApplier('patronidown', `${pg18.url}?walrus_apply=patroni&walrus_patroni_url=${encodeURIComponent(`http://127.0.0.1:${port}`)}`);
      const d = decision('patronidown');
      const seq = await publishDecision(s, d);
      // Nothing listens yet: the applier says so and retries.
      await waitFor(() => s.lines.find((l) => l.decisionId === d.id && /unreachable/.test(String(l.err))), { what: 'a retry of the unreachable API', timeoutMs: 20_000 });
      expect(watch.on('walrus.applied.patronidown')).toEqual([]);
      const patroni = await startPatroniStandIn({
        port,
        onPatch: async (body) => {
          const size = (body as { postgresql: { parameters: { max_wal_size: string } } }).postgresql.parameters.max_wal_size;
          await pg18.query(`ALTER SYSTEM SET max_wal_size = '${size.replace(/'/g, '')}'`);
          await pg18.query('SELECT pg_reload_conf()');
          return null;
        },
      });
      expect(await resultFor(d)).toMatchObject({ status: 'applied', max_wal_size_mb: 128, error: null });
      await settledOn(s, d, seq);
      expect(patroni.requests).toHaveLength(1);
      expect(await storedOutcomes(s, 'patronidown')).toHaveLength(1);
    } finally {
      await resetSize();
    }
  });

  it('tries each Patroni REST API given in turn: one away or answering 5xx is skipped, a 4xx is the answer', async () => {
    try {
      const away = `http://127.0.0.1:${await freePort()}`;
      const unwell = await startPatroniStandIn({ status: 503 });
      const refusing = await startPatroniStandIn({ auth: { user: 'patroni', password: 'right' } });
      const apis = encodeURIComponent([away, unwell.url, refusing.url].join(','));
      const s = await startApplier('patroni3', `${pg18.url}?walrus_apply=patroni&walrus_patroni_url=${apis}&walrus_patroni_user=patroni&walrus_patroni_password=wrong`);
      const d = decision('patroni3');
      const seq = await publishDecision(s, d);
      const r = await resultFor(d);
      expect(r).toMatchObject({ status: 'failed' });
      expect(r.error).toMatch(/^Patroni PATCH \/config at http:\/\/127\.0\.0\.1:\d+\/config answered 401/);
      await settledOn(s, d, seq);
      expect(await storedOutcomes(s, 'patroni3')).toHaveLength(1);
      expect(unwell.requests).toHaveLength(1);
      expect(refusing.requests).toHaveLength(1);
      expect(JSON.stringify(s.lines)).not.toContain('wrong');
    } finally {
      await resetSize();
    }
  });

  it('refuses an invalid strategy selection at start-up, naming the cluster', () => {
    const r = applier.loadConfig({ WALRUS_CLUSTERS: `x=${pg18.url}?walrus_apply=patroni` });
    expect(r.problems).toEqual([expect.stringMatching(/^WALRUS_CLUSTERS: cluster x: walrus_apply=patroni needs walrus_patroni_url/)]);
    const bad = applier.loadConfig({ WALRUS_CLUSTERS: `x=${pg18.url}?walrus_apply=kubectl` });
    expect(bad.problems).toEqual([expect.stringMatching(/walrus_apply is invalid \(got "kubectl", allowed alter_system, patroni\)/)]);
  });
});

describe('security - where ALTER SYSTEM cannot write', () => {
  // allow_alter_system = off (17+) is covered in test/applier.test.ts.
  it('fails once, with what to do, when postgresql.auto.conf is read-only (CloudNativePG before PostgreSQL 17)', async () => {
    const ro = await startPostgres({ version: 16, config: { max_wal_size: '64MB' } });
    const autoConf = join(ro.dataDir, 'postgresql.auto.conf');
    // The server runs as the postgres OS user: 0444 denies it the write ALTER SYSTEM needs.
    await chmod(autoConf, 0o444);
    try {
      const s = await startApplier('readonly', ro.url);
      const d = decision('readonly');
      const seq = await publishDecision(s, d);
      const r = await resultFor(d);
      expect(r).toMatchObject({ status: 'failed' });
      expect(r.error).toMatch(/cannot write postgresql\.auto\.conf .*CloudNativePG/);
      // A permanent refusal: acknowledged at once, not retried in hand nor redelivered.
      await settledOn(s, d, seq);
      expect(await storedOutcomes(s, 'readonly')).toHaveLength(1);
      expect(await s.registry.metrics()).not.toMatch(/walrus_apply_retries_total\{cluster="readonly"/);
    } finally {
      await chmod(autoConf, 0o600);
    }
    expect(await maxWalSizeMb(ro)).toBe(64);
  });
});

describe('security - walrus grants <role>', () => {
  it.each(PG_VERSIONS)('PostgreSQL %i: the printed SQL lets the role resize and reload, and nothing else', async (version) => {
    const sql = execFileSync(process.execPath, [WALRUS_BIN, 'grants', 'walrus_app'], { encoding: 'utf8' });
    const c = await startPostgres({ version, config: { max_wal_size: '64MB' } });
    try {
      await c.query(sql);
      await c.query(sql); // idempotent
      const client = new pg.Client({ connectionString: c.urlFor('postgres', 'walrus_app') });
      await client.connect();
      try {
        const { rows } = await client.query<{ su: boolean }>('SELECT rolsuper AS su FROM pg_roles WHERE rolname = current_user');
        expect(rows[0]?.su).toBe(false);
        const a = await attemptApply({
          client,
          decision: decision('grants'),
          verifyTimeoutMs: 10_000,
          sleep: (ms) => sleep(ms),
          monotonicMs: () => performance.now(),
        });
        expect(a).toEqual({ kind: 'done', status: 'applied', maxWalSizeMb: 128, error: null });
        await expect(client.query(`ALTER SYSTEM SET shared_buffers = '1GB'`)).rejects.toThrow(/permission denied to set parameter/);
        // The collector's statistics are readable.
        await client.query('SELECT * FROM pg_ls_waldir() LIMIT 1');
      } finally {
        await client.end();
      }
    } finally {
      await c.cleanup();
    }
  });
});

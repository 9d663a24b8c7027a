import { applier } from '@walrus/applier';
import { runControlCommand } from '@walrus/cli';
import { readSample } from '@walrus/cluster';
import { control } from '@walrus/control';
import { sampleMsgId, WALRUS_PARAM_NAMES } from '@walrus/core';
import { decider } from '@walrus/decider';
import { historian } from '@walrus/historian';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, cleanupAll, startNats, startPostgres, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { maxWalSizeMb } from './harness/load.js';
import { publishJs, startInProcess, type InProcessService } from './harness/in-process.js';
import { startWalrus } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';

// The control commands as an operator runs them: `walrus <command>` child
// processes talking over NATS to a control service, with their exit codes.
const C = 'db1';
let nats: NatsServer;
let pgc: PostgresCluster;
let watch: SubjectWatch;
const services: InProcessService[] = [];

beforeAll(async () => {
  [nats, pgc] = await Promise.all([startNats(), startPostgres({ version: 17, config: { max_wal_size: '32MB' } })]);
  await pgc.query('CREATE DATABASE history');
  watch = await SubjectWatch.open(nats.url, ['walrus.decision.>', 'walrus.applied.>']);
});
afterAll(async () => {
  await watch?.close();
  for (const s of services.splice(0).reverse()) await s.stop();
  await cleanupAll();
});

/** `walrus <args>` as a child process: what an operator runs (about 2 to 4 s each here, so used sparingly). */
async function spawnCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | string; out: string; err: string }> {
  const p = startWalrus(args, { NATS_URL: nats.url, ...env });
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

/** The same command in this process: `walrus` sets its exit code to exactly this return value. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | string; out: string; err: string }> {
  let out = '';
  let err = '';
  const [name, ...rest] = args;
  const code = await runControlCommand(name!, rest, { NATS_URL: nats.url, ...env }, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

async function publishSample(): Promise<string> {
  const client = await pgc.connect();
  try {
    const s = await readSample(client, C, WALRUS_PARAM_NAMES, () => new Date());
    await publishJs(services[0]!.nc, `walrus.sample.${C}`, s, sampleMsgId(C, s.collected_at));
    return s.collected_at;
  } finally {
    await client.end();
  }
}
async function checkpoints(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await pgc.query('CHECKPOINT');
}

describe('cli - errors say what is wrong, with exit codes that mean it', () => {
  it('3 when NATS cannot be reached', async () => {
    const r = await spawnCli(['status'], { NATS_URL: `nats://127.0.0.1:${await freePort()}` });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^walrus status: cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+ \(NATS_URL\)/);
  });

  it('3 when no control service answers', async () => {
    const r = await spawnCli(['recommend', C]);
    expect(r.code).toBe(3);
    expect(r.err).toContain('no walrus control service answers on walrus.api.recommendation');
  });

  it('2 for bad arguments, before connecting', async () => {
    const [noCluster, badId, badLimit, unknownOpt] = await Promise.all([
      spawnCli(['analyze']),
      cli(['reset', 'a.b']),
      cli(['history', '--limit', '0']),
      cli(['status', '--verbose']),
    ]);
    expect(noCluster).toMatchObject({ code: 2, err: expect.stringContaining('walrus analyze: which cluster?') });
    expect(badId).toMatchObject({ code: 2, err: expect.stringContaining('invalid cluster id "a.b"') });
    expect(badLimit).toMatchObject({ code: 2, err: expect.stringContaining('--limit must be a whole number 1 .. 10000') });
    expect(unknownOpt).toMatchObject({ code: 2, err: expect.stringContaining('unknown option --verbose') });
  });

  it('3 when no decider serves analyze --apply or reset (deciders alone change the state), and nothing is published', async () => {
    const s = await startInProcess(control, { WALRUS_PAGE: 'off', WALRUS_CLUSTERS: `${C}=${pgc.url}` }, nats.url);
    try {
      const [apply, reset] = await Promise.all([cli(['analyze', C, '--apply']), cli(['reset', C])]);
      expect(apply).toMatchObject({
        code: 3,
        err: expect.stringContaining('no walrus decider answers on walrus.decider.analyze: analyze with apply is carried out by a decider; start `walrus decider` or `walrus all`'),
      });
      expect(reset).toMatchObject({ code: 3, err: expect.stringContaining('no walrus decider answers on walrus.decider.reset') });
      // Without --apply the control service evaluates by itself.
      expect((await cli(['analyze', C])).code).toBe(0);
      expect(watch.messages).toEqual([]);
    } finally {
      await s.stop();
    }
  });

  it('2 when the control service has no history database', async () => {
    const s = await startInProcess(control, { WALRUS_PAGE: 'off' }, nats.url);
    try {
      const r = await cli(['history']);
      expect(r.code).toBe(2);
      expect(r.err).toContain('the control service has no history database: set HISTORY_DATABASE_URL');
    } finally {
      await s.stop();
    }
  });
});

describe('cli - commands against a running walrus', () => {
  beforeAll(async () => {
    const history = pgc.urlFor('history');
    const clusters = `${C}=${pgc.url}`;
    services.push(await startInProcess(historian, { HISTORY_DATABASE_URL: history }, nats.url));
    services.push(await startInProcess(decider, { WALRUS_THRESHOLD: '2' }, nats.url));
    services.push(await startInProcess(applier, { WALRUS_CLUSTERS: clusters }, nats.url));
    services.push(await startInProcess(control, { WALRUS_CLUSTERS: clusters, HISTORY_DATABASE_URL: history, WALRUS_PAGE: 'off' }, nats.url));
    await publishSample();
    await checkpoints(2);
    const at = await publishSample();
    const d = await watch.next(`walrus.decision.${C}`, (x) => x.sample_at === at, 'an increase');
    await watch.next(`walrus.applied.${C}`, (x) => x.decision_id === d.id, 'its outcome');
    expect(await maxWalSizeMb(pgc)).toBe(96);
  });

  it('status: a fleet table, one cluster in detail, and JSON', async () => {
    const [table, one, json, unknown] = await Promise.all([cli(['status']), cli(['status', C]), spawnCli(['status', C, '--json']), cli(['status', 'nope'])]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^1 clusters: 1 reachable/);
    expect(table.out).toMatch(/CLUSTER\s+MAX_WAL_SIZE\s+WALRUS\.MAX/);
    // No whole checkpoint interval between these samples yet: no WAL rate, no required size.
    expect(table.out).toMatch(new RegExp(`${C}\\s+96 MB\\s+4096 MB\\s+-\\s+-\\s+yes`));
    expect(one.code).toBe(0);
    expect(one.out).toMatch(/cooldown\s+active, \d+s left \(of 300s\)/);
    expect(one.out).toMatch(/total adjustments\s+1/);
    expect(JSON.parse(json.out)).toMatchObject({ cluster: C, current_max_wal_size_mb: 96, total_adjustments: 1, cooldown_active: true });
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('unknown cluster nope');
  });

  it('recommend shows the rate limit; analyze --apply bypasses it, and watch sees it live', async () => {
    await checkpoints(2);
    const rec = await cli(['recommend', C]);
    expect(rec.code).toBe(0);
    expect(rec.out).toMatch(/action\s+increase/);
    expect(rec.out).toMatch(/recommended size\s+288 MB/);
    expect(rec.out).toMatch(/rate limit\s+cooldown until/);
    expect(await maxWalSizeMb(pgc)).toBe(96);

    const watcher = startWalrus(['watch', C, '--count', '2'], { NATS_URL: nats.url });
    await expect.poll(() => watcher.stderr(), { timeout: 15_000 }).toContain('watching walrus.decision.db1, walrus.applied.db1 and walrus.alert.db1');

    const r = await cli(['analyze', C, '--apply', '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as { applied: boolean; apply_status: string; max_wal_size_mb: number; recommendation: { blocked_by: string } };
    expect(result).toMatchObject({ applied: true, apply_status: 'applied', max_wal_size_mb: 288, recommendation: { blocked_by: 'cooldown' } });
    expect(await maxWalSizeMb(pgc)).toBe(288);

    expect(await watcher.exited).toBe(0);
    const lines = watcher.stdout().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/ db1 {2}decision increase 96 MB -> 288 MB \(forced 2\)/);
    expect(lines[1]).toMatch(/ db1 {2}applied max_wal_size 288 MB$/);
  });

  it('history: a table and JSON, newest first', async () => {
    const [table, json] = await Promise.all([cli(['history']), cli(['history', '--cluster', C, '--limit', '1', '--json'])]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/TIME\s+CLUSTER\s+ACTION\s+OLD\s+NEW\s+FORCED\s+OUTCOME\s+REASON/);
    expect(table.out.trim().split('\n')).toHaveLength(4); // header, rule, two decisions
    const rows = JSON.parse(json.out) as Array<{ action: string; new_size_mb: number; metadata: Record<string, unknown> }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'increase', new_size_mb: 288, metadata: expect.objectContaining({ rate_limits_bypassed: true }) });
  });

  it('reset clears the state; cleanup deletes old history', async () => {
    const reset = await cli(['reset', C]);
    expect(reset).toMatchObject({ code: 0, out: `state of ${C} cleared: the next sample starts a new baseline\n` });
    expect(JSON.parse((await cli(['status', C, '--json'])).out)).toMatchObject({ has_state: false, total_adjustments: 0 });
    const cleanup = await cli(['cleanup', '--retention-days', '0']);
    expect(cleanup).toMatchObject({ code: 0, out: 'deleted 2 history row(s) older than the retention of 0 days\n' });
    expect((await cli(['history'])).out).toBe('no history yet\n');
  });
});

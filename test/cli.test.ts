import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { applier } from '@walrus/applier';
import { runControlCommand } from '@walrus/cli';
import { readSample } from '@walrus/cluster';
import { control } from '@walrus/control';
import { KV_STATE_BUCKET, sampleMsgId, WALRUS_PARAM_NAMES } from '@walrus/core';
import { decider } from '@walrus/decider';
import { historian } from '@walrus/historian';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { maxWalSizeMb, requestCheckpoints } from './harness/load.js';
import { publishJs, startInProcess, type InProcessService } from './harness/in-process.js';
import { startWalrus } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

// The control commands as an operator runs them: `walrus <command>` child
// processes talking over NATS to a control service, with their exit codes.
//
// Each test stands alone (any one runs with -t, in any order): the error
// cases that need no control service, or a particular one, get a NATS server
// of their own; the others take a cluster id of their own (no state or
// history yet) on the shared server, whose settings they reset first.
const POOL = Array.from({ length: 8 }, (_, i) => `db${i + 1}`);
let used = 0;
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
  const code = await runControlCommand(defined(name), rest, { NATS_URL: nats.url, ...env }, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

async function publishSample(C: string): Promise<string> {
  const client = await pgc.connect();
  try {
    const s = await readSample(client, C, WALRUS_PARAM_NAMES, () => new Date());
    await publishJs(defined(services[0]).nc, `walrus.sample.${C}`, s, sampleMsgId(C, s.collected_at));
    return s.collected_at;
  } finally {
    await client.end();
  }
}
const checkpoints = (n: number): Promise<void> => requestCheckpoints(pgc, n);

/** The services, once, for the tests that need a running walrus. */
let starting: Promise<void> | undefined;
function walrusRunning(): Promise<void> {
  starting ??= (async () => {
    const history = pgc.urlFor('history');
    const clusters = POOL.map((id) => `${id}=${pgc.url}`).join(',');
    services.push(await startInProcess(historian, { HISTORY_DATABASE_URL: history }, nats.url));
    services.push(await startInProcess(decider, { WALRUS_THRESHOLD: '2' }, nats.url));
    services.push(await startInProcess(applier, { WALRUS_CLUSTERS: clusters }, nats.url));
    services.push(await startInProcess(control, { WALRUS_CLUSTERS: clusters, HISTORY_DATABASE_URL: history, WALRUS_PAGE: 'off' }, nats.url));
  })();
  return starting;
}

/**
 * A cluster id of its own, grown once by walrus: a baseline, two requested
 * checkpoints, an increase 32 -> 96 MB applied (the cooldown of 300 s now runs).
 */
async function grownCluster(): Promise<{ C: string; decision: Record<string, unknown> }> {
  await walrusRunning();
  const C = POOL[used++];
  if (!C) throw new Error('cli.test.ts: add ids to POOL');
  await pgc.query('ALTER SYSTEM RESET ALL');
  await pgc.query('SELECT pg_reload_conf()');
  await waitFor(async () => (await maxWalSizeMb(pgc)) === 32, { what: 'max_wal_size back to 32 MB', timeoutMs: 10_000 });
  await publishSample(C);
  await checkpoints(2);
  const at = await publishSample(C);
  const decision = await watch.next(`walrus.decision.${C}`, (x) => x.sample_at === at, 'an increase');
  expect(decision).toMatchObject({ action: 'increase', old_size_mb: 32, new_size_mb: 96 });
  await watch.next(`walrus.applied.${C}`, (x) => x.decision_id === decision.id && x.status === 'applied', 'its outcome');
  expect(await maxWalSizeMb(pgc)).toBe(96);
  return { C, decision };
}

async function storedDecisionCount(C: string): Promise<number> {
  const jsm = await jetstreamManager(defined(services[0]).nc);
  const subject = `walrus.decision.${C}`;
  return (await jsm.streams.info('WALRUS_DECISIONS', { subjects_filter: subject })).state.subjects?.[subject] ?? 0;
}

/** Waits until the NATS server shows a subscription on `subject` (a child `walrus watch` is listening). */
async function subscribed(subject: string): Promise<void> {
  await waitFor(
    async () => {
      const connz = (await (await fetch(`${nats.monitorUrl}/connz?subs=1`)).json()) as { connections?: Array<{ subscriptions_list?: string[] }> };
      return (connz.connections ?? []).some((c) => c.subscriptions_list?.includes(subject)) || null;
    },
    { what: `a subscription on ${subject}`, timeoutMs: 20_000, intervalMs: 100 },
  );
}

describe('cli - errors say what is wrong, with exit codes that mean it', () => {
  it('3 when NATS cannot be reached', async () => {
    const r = await spawnCli(['status'], { NATS_URL: `nats://127.0.0.1:${await freePort()}` });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^walrus status: cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+ \(NATS_URL\)/);
  });

  it('3 when no control service answers', async () => {
    // A NATS server of its own: whatever the other tests started does not answer here.
    const empty = await startNats();
    try {
      const r = await spawnCli(['recommend', 'db1'], { NATS_URL: empty.url });
      expect(r.code).toBe(3);
      expect(r.err).toContain('no walrus control service answers on walrus.api.recommendation');
    } finally {
      await empty.cleanup();
    }
  });

  it('2 for bad arguments, before connecting', async () => {
    // NATS is not even there: the arguments are refused first.
    const nowhere = { NATS_URL: `nats://127.0.0.1:${await freePort()}` };
    const [noCluster, badId, badLimit, unknownOpt] = await Promise.all([
      spawnCli(['analyze'], nowhere),
      cli(['reset', 'a.b'], nowhere),
      cli(['history', '--limit', '0'], nowhere),
      cli(['status', '--verbose'], nowhere),
    ]);
    expect(noCluster).toMatchObject({ code: 2, err: expect.stringContaining('walrus analyze: which cluster?') });
    expect(badId).toMatchObject({ code: 2, err: expect.stringContaining('invalid cluster id "a.b"') });
    expect(badLimit).toMatchObject({ code: 2, err: expect.stringContaining('--limit must be a whole number 1 .. 10000') });
    expect(unknownOpt).toMatchObject({ code: 2, err: expect.stringContaining('unknown option --verbose') });
  });

  it('3 when no decider serves analyze --apply or reset (deciders alone change the state), and nothing is published', async () => {
    // A NATS server of its own with a control service and no decider.
    const own = await startNats();
    const C = 'lonely';
    const s = await startInProcess(control, { WALRUS_PAGE: 'off', WALRUS_CLUSTERS: `${C}=${pgc.url}` }, own.url);
    const seen = await SubjectWatch.open(own.url, ['walrus.decision.>', 'walrus.applied.>']);
    try {
      const env = { NATS_URL: own.url };
      const [apply, reset] = await Promise.all([cli(['analyze', C, '--apply'], env), cli(['reset', C], env)]);
      expect(apply).toMatchObject({
        code: 3,
        err: expect.stringContaining('no walrus decider answers on walrus.decider.analyze: analyze with apply is carried out by a decider; start `walrus decider` or `walrus all`'),
      });
      expect(reset).toMatchObject({ code: 3, err: expect.stringContaining('no walrus decider answers on walrus.decider.reset') });
      // Without --apply the control service evaluates by itself.
      expect((await cli(['analyze', C], env)).code).toBe(0);
      expect(seen.messages).toEqual([]);
    } finally {
      await seen.close();
      await s.stop();
      await own.cleanup();
    }
  });

  it('2 when the control service has no history database', async () => {
    // Its own NATS server: the only control service there is this one, without HISTORY_DATABASE_URL.
    const own = await startNats();
    const s = await startInProcess(control, { WALRUS_PAGE: 'off' }, own.url);
    try {
      const r = await cli(['history'], { NATS_URL: own.url });
      expect(r.code).toBe(2);
      expect(r.err).toContain('the control service has no history database: set HISTORY_DATABASE_URL');
    } finally {
      await s.stop();
      await own.cleanup();
    }
  });
});

describe('cli - commands against a running walrus', () => {
  it('status: a fleet table, one cluster in detail, and JSON', async () => {
    const { C } = await grownCluster();
    const [table, one, json, unknown] = await Promise.all([cli(['status']), cli(['status', C]), spawnCli(['status', C, '--json']), cli(['status', 'nope'])]);
    expect(table.code).toBe(0);
    // Every cluster the control service knows (its WALRUS_CLUSTERS), this one reachable at 96 MB.
    expect(table.out).toMatch(new RegExp(`^${POOL.length} clusters: `));
    expect(table.out).toMatch(/CLUSTER\s+MAX_WAL_SIZE\s+WALRUS\.MAX/);
    // No whole checkpoint interval between these samples yet: no WAL rate, no required size.
    expect(table.out).toMatch(new RegExp(`\\n${C}\\s+96 MB\\s+4096 MB\\s+-\\s+-\\s+yes`));
    expect(one.code).toBe(0);
    expect(one.out).toMatch(/cooldown\s+active, \d+s left \(of 300s\)/);
    expect(one.out).toMatch(/total adjustments\s+1/);
    expect(JSON.parse(json.out)).toMatchObject({ cluster: C, current_max_wal_size_mb: 96, total_adjustments: 1, cooldown_active: true });
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('unknown cluster nope');
  });

  it('recommend shows the rate limit; analyze --apply bypasses it, and watch sees it live', async () => {
    const { C } = await grownCluster();
    await checkpoints(2);
    const rec = await cli(['recommend', C]);
    expect(rec.code).toBe(0);
    expect(rec.out).toMatch(/action\s+increase/);
    expect(rec.out).toMatch(/recommended size\s+288 MB/);
    expect(rec.out).toMatch(/rate limit\s+cooldown until/);
    expect(await maxWalSizeMb(pgc)).toBe(96);

    const watcher = startWalrus(['watch', C, '--count', '2'], { NATS_URL: nats.url });
    await watcher.waitForStderr(`watching walrus.decision.${C}, walrus.applied.${C} and walrus.alert.${C}`, 'the watcher subscribed');

    const r = await cli(['analyze', C, '--apply', '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as { applied: boolean; apply_status: string; max_wal_size_mb: number; recommendation: { blocked_by: string } };
    expect(result).toMatchObject({ applied: true, apply_status: 'applied', max_wal_size_mb: 288, recommendation: { blocked_by: 'cooldown' } });
    expect(await maxWalSizeMb(pgc)).toBe(288);

    expect(await watcher.exited).toBe(0);
    const lines = watcher.stdout().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(` ${C} {2}decision increase 96 MB -> 288 MB \\(forced 2\\)`));
    expect(lines[1]).toMatch(new RegExp(` ${C} {2}applied max_wal_size 288 MB$`));
  });

  it('analyze without --apply: prints what it would do, and changes nothing', async () => {
    const { C } = await grownCluster();
    await checkpoints(2);
    const kv = await new Kvm(defined(services[0]).nc).open(KV_STATE_BUCKET);
    const revision = defined(await kv.get(C)).revision;
    const decisions = await storedDecisionCount(C);
    const r = await spawnCli(['analyze', C]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/action\s+increase/);
    expect(r.out).toMatch(/recommended size\s+288 MB/);
    // No "applied"/"decision" block: that is printed only with --apply.
    expect(r.out).not.toMatch(/^applied\s/m);
    // Nothing saved, nothing published (it would be stored before the answer), nothing changed.
    expect(defined(await kv.get(C)).revision).toBe(revision);
    expect(await storedDecisionCount(C)).toBe(decisions);
    expect(await maxWalSizeMb(pgc)).toBe(96);
  });

  it('watch --json: one JSON object per line, as published, with its subject', async () => {
    const { C } = await grownCluster();
    const watcher = startWalrus(['watch', C, '--json', '--count', '2'], { NATS_URL: nats.url });
    await subscribed(`walrus.applied.${C}`);
    await subscribed(`walrus.decision.${C}`);
    // The next interval, with the cluster's cooldown off: three requested checkpoints,
    // an increase 96 -> 384 MB and its outcome.
    await pgc.query("ALTER SYSTEM SET walrus.cooldown_sec = '0'");
    await pgc.query('SELECT pg_reload_conf()');
    await checkpoints(3);
    await publishSample(C);
    expect(await watcher.exited).toBe(0);
    expect(watcher.stderr()).toBe('');
    const lines = watcher.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    const [decision, outcome] = lines;
    expect(decision).toMatchObject({ subject: `walrus.decision.${C}`, v: 1, cluster: C, action: 'increase', old_size_mb: 96, new_size_mb: 384, forced_checkpoints: 3 });
    expect(outcome).toMatchObject({ subject: `walrus.applied.${C}`, v: 1, cluster: C, decision_id: defined(decision).id, status: 'applied', max_wal_size_mb: 384 });
    // Exactly what was published, plus the subject.
    const { subject: _s, ...published } = defined(decision);
    expect(watch.on(`walrus.decision.${C}`)).toContainEqual(published);
  });

  it('history: a table and JSON, newest first', async () => {
    const { C } = await grownCluster();
    await checkpoints(2);
    expect((await cli(['analyze', C, '--apply'])).code).toBe(0);
    const newest = async () => (JSON.parse((await cli(['history', '--cluster', C, '--limit', '1', '--json'])).out) as Array<{ new_size_mb: number; apply_status: string | null }>)[0];
    await waitFor(async () => (await newest())?.new_size_mb === 288 && (await newest())?.apply_status === 'applied', {
      what: 'the manual change and its outcome in history',
      timeoutMs: 20_000,
    });
    const [table, json] = await Promise.all([cli(['history', '--cluster', C]), cli(['history', '--cluster', C, '--limit', '1', '--json'])]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/TIME\s+CLUSTER\s+PRIMARY\s+ACTION\s+OLD\s+NEW\s+FORCED\s+OUTCOME\s+EFFECT\s+REASON/);
    expect(table.out.trim().split('\n'), table.out).toHaveLength(4); // header, rule, two decisions
    const rows = JSON.parse(json.out) as Array<{ action: string; new_size_mb: number; metadata: Record<string, unknown> }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'increase', new_size_mb: 288, metadata: expect.objectContaining({ rate_limits_bypassed: true }) });
  });

  it('reset clears the state; cleanup deletes old history', async () => {
    const { C } = await grownCluster();
    const reset = await cli(['reset', C]);
    expect(reset).toMatchObject({ code: 0, out: `state of ${C} cleared: the next sample starts a new baseline\n` });
    expect(JSON.parse((await cli(['status', C, '--json'])).out)).toMatchObject({ has_state: false, total_adjustments: 0 });
    await waitFor(async () => (JSON.parse((await cli(['history', '--cluster', C, '--json'])).out) as Array<{ apply_status: string | null }>)[0]?.apply_status === 'applied', {
      what: 'the increase and its outcome in history',
      timeoutMs: 20_000,
    });
    const rows = Number(defined((await pgc.query<{ n: string }>('SELECT count(*) AS n FROM walrus.history', [], { database: 'history' }))[0]).n);
    const cleanup = await cli(['cleanup', '--retention-days', '0']);
    expect(cleanup).toMatchObject({ code: 0, out: `deleted ${rows} history row(s) older than the retention of 0 days\n` });
    expect((await cli(['history'])).out).toBe('no history yet\n');
  });
});

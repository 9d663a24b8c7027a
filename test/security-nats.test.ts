/**
 * The deployment `walrus nats-config` generates, run for real: a nats-server
 * with the generated authorization, the four services each with its own
 * restricted user, and a monitored cluster whose URL carries a known password.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WALRUS_BIN } from '@walrus/cli/launch';
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { ApplyResult } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxWalSizeMb } from './harness/load.js';
import { cleanupAll, registerCleanup, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { testDecision } from './harness/messages.js';
import { defined } from './harness/defined.js';

/** Appears in every connection string the services get; must appear in none of their outputs. */
const PG_PASSWORD = 'Kn0wn-PG-secret-7f3a';

let nats: NatsServer;
let pgc: PostgresCluster;
let creds: Record<string, Record<string, string>>;
let clusterUrl: string;
let historyUrl: string;
const procs: Record<string, WalrusProcess> = {};
/** Processes stopped by a test (their output still counts for the secrets grep). */
const retired: WalrusProcess[] = [];
const opened: NatsConnection[] = [];

function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) out[defined(m[1])] = defined(m[2]);
  }
  return out;
}

async function as(user: string): Promise<NatsConnection> {
  const c = defined(creds[user]);
  const nc = await connect({ servers: nats.url, user: defined(c.NATS_USER), pass: defined(c.NATS_PASSWORD), inboxPrefix: defined(c.NATS_INBOX_PREFIX), timeout: 5000 });
  opened.push(nc);
  return nc;
}

function serviceEnv(user: string, extra: Record<string, string>): Record<string, string> {
  return { NATS_URL: nats.url, ...defined(creds[user]), ...extra };
}

beforeAll(async () => {
  [nats, pgc] = await Promise.all([
    // The authorization comes later (restart) once the config is generated.
    startNats(),
    startPostgres({ version: 17, config: { max_wal_size: '64MB', checkpoint_timeout: '30s' } }),
  ]);
  // Trust authentication: the password is accepted and ignored, but it is in every URL.
  clusterUrl = pgc.url.replace('postgres@', `postgres:${PG_PASSWORD}@`);
  expect(clusterUrl).toContain(PG_PASSWORD);
  await pgc.query('CREATE DATABASE history');
  historyUrl = pgc.urlFor('history').replace('postgres@', `postgres:${PG_PASSWORD}@`);
  const dir = mkdtempSync(join(tmpdir(), 'walrus-test-natsauth-'));
  registerCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  execFileSync(process.execPath, [WALRUS_BIN, 'nats-config', '--appliers', '2', '--admin', '--out', dir], {
    env: { PATH: process.env.PATH ?? '', WALRUS_CLUSTERS: `a=${clusterUrl},b=${clusterUrl}` },
    encoding: 'utf8',
  });
  creds = {};
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.env'))) creds[f.slice(0, -4)] = readEnvFile(join(dir, f));
  expect(Object.keys(creds).sort()).toEqual([
    'walrus-admin',
    'walrus-alerts',
    'walrus-applier-1',
    'walrus-applier-2',
    'walrus-cli',
    'walrus-collector',
    'walrus-control',
    'walrus-decider',
    'walrus-historian',
  ]);
  await nats.cleanup();
  nats = await startNats({ config: readFileSync(join(dir, 'nats-auth.conf'), 'utf8') });
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(procs).map((p) => p.stop()));
  await Promise.all(opened.map((nc) => nc.close().catch(() => undefined)));
  await cleanupAll();
});

const decision = testDecision;

/**
 * The server's own refusal of a publish on `subject` (a literal subject, or a
 * pattern): the "Permissions Violation for Publish to ..." error it sends
 * back, which nats.js gives the request that published it at once, rather
 * than a reply that never comes. A timeout does not match.
 */
function refused(subject: string | RegExp): RegExp {
  const s = typeof subject === 'string' ? subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : subject.source;
  return new RegExp(`^Permissions Violation for Publish to "${s}"`);
}

async function collect(sub: Subscription, into: ApplyResult[]): Promise<void> {
  for await (const m of sub) into.push(m.json<ApplyResult>());
}

/*
 * Shared set-up, started by whichever test needs it first, so that any test
 * runs alone (-t) and in any order: the four services, each with its own
 * restricted user (they create the streams, consumers and KV at start-up).
 */
let servicesStarting: Promise<void> | undefined;
function servicesStarted(): Promise<void> {
  servicesStarting ??= (async () => {
    procs.applier = startWalrus(['applier'], serviceEnv('walrus-applier-1', { WALRUS_CLUSTERS: `a=${clusterUrl}`, WALRUS_APPLIER_MAX_MB: '1000' }));
    await procs.applier.waitForLog((l) => l.msg === 'started', 'the applier started', 60_000);
    // Grows on every forced checkpoint, never shrinks: samples only come once pipelineResized() starts the collector.
    procs.decider = startWalrus(['decider'], serviceEnv('walrus-decider', { WALRUS_THRESHOLD: '1', WALRUS_COOLDOWN_SEC: '0', WALRUS_SHRINK_ENABLE: 'off' }));
    procs.historian = startWalrus(['historian'], serviceEnv('walrus-historian', { HISTORY_DATABASE_URL: historyUrl }));
    procs.control = startWalrus(['control'], serviceEnv('walrus-control', { HISTORY_DATABASE_URL: historyUrl, WALRUS_CLUSTERS: `a=${clusterUrl}` }));
    await Promise.all(['decider', 'historian', 'control'].map((n) => defined(procs[n]).waitForLog((l) => l.msg === 'started', `the ${n} started`, 60_000)));
  })();
  return servicesStarting;
}

/** The whole pipeline once, to a real resize of cluster a: the collector starts, CHECKPOINTs are counted as forced. */
let resizing: Promise<ApplyResult> | undefined;
function pipelineResized(): Promise<ApplyResult> {
  resizing ??= (async () => {
    await servicesStarted();
    const alerts = await as('walrus-alerts');
    const results: ApplyResult[] = [];
    void collect(alerts.subscribe('walrus.applied.a'), results);
    await alerts.flush();
    procs.collector = startWalrus(['collector'], serviceEnv('walrus-collector', { WALRUS_CLUSTERS: `a=${clusterUrl}`, WALRUS_SAMPLE_INTERVAL: '1' }));
    await procs.collector.waitForLog((l) => l.msg === 'started', 'the collector started', 60_000);
    // CHECKPOINT counts as a requested checkpoint: with threshold 1 the decider grows max_wal_size.
    return waitFor(
      async () => {
        await pgc.query('CHECKPOINT');
        return results.find((r) => r.status === 'applied');
      },
      { timeoutMs: 60_000, intervalMs: 700, what: 'an applied resize' },
    );
  })();
  return resizing;
}

/** Messages stored on a subject of WALRUS_DECISIONS, read as the admin. */
async function storedOn(subject: string): Promise<string[]> {
  const jsm = await jetstreamManager(await as('walrus-admin'));
  const info = await jsm.streams.info('WALRUS_DECISIONS', { subjects_filter: subject });
  const out: string[] = [];
  if ((info.state.subjects?.[subject] ?? 0) === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage('WALRUS_DECISIONS', { seq }).catch(() => null);
    if (m?.subject === subject) out.push(m.string());
  }
  return out;
}

describe('security - NATS with the generated authorization', () => {
  it('starts every service with its own restricted user (streams, consumers and KV created at start-up)', async () => {
    await servicesStarted();
    for (const name of ['applier', 'decider', 'historian', 'control']) {
      expect(defined(procs[name]).lines.filter((l) => l.msg === 'started'), name).toHaveLength(1);
      expect(defined(procs[name]).proc.exitCode, name).toBeNull();
    }
    const jsm = await jetstreamManager(await as('walrus-admin'));
    expect((await jsm.streams.names().next()).sort()).toEqual(expect.arrayContaining(['KV_walrus_state', 'WALRUS_DECISIONS', 'WALRUS_DLQ', 'WALRUS_SAMPLES']));
  }, 120_000);

  it('refuses clients without credentials', async () => {
    await expect(connect({ servers: nats.url, timeout: 3000 })).rejects.toThrow(/Authorization/i);
  });

  it('lets a cli user ask the control service, and nothing more', async () => {
    await servicesStarted();
    const nc = await as('walrus-cli');
    const reply = await nc.request('walrus.api.info', '{}', { timeout: 10_000 });
    expect(reply.string()).toMatch(/status/);
    // Cluster c: no collector publishes it, so "never stored" holds in any order.
    await expect(jetstream(nc, { timeout: 10_000 }).publish('walrus.sample.c', '{}')).rejects.toThrow(refused('walrus.sample.c'));
    const admin = await jetstreamManager(await as('walrus-admin'));
    expect((await admin.streams.info('WALRUS_SAMPLES', { subjects_filter: 'walrus.sample.c' })).state.subjects ?? {}).toEqual({});
  }, 120_000);

  it('refuses a forged decision from any user but a decider (collector, applier, historian, control, cli, alerts)', async () => {
    await servicesStarted();
    const before = await storedOn('walrus.decision.a');
    const forged: string[] = [];
    for (const user of ['walrus-collector', 'walrus-applier-1', 'walrus-historian', 'walrus-control', 'walrus-cli', 'walrus-alerts']) {
      const nc = await as(user);
      const d = decision('a', { new_size_mb: 900 });
      forged.push(d.id);
      await expect(jetstream(nc, { timeout: 10_000 }).publish('walrus.decision.a', JSON.stringify(d))).rejects.toThrow(refused('walrus.decision.a'));
    }
    const log = await nats.log();
    for (const user of ['walrus-collector', 'walrus-applier-1', 'walrus-historian', 'walrus-control', 'walrus-cli', 'walrus-alerts']) {
      expect(log).toMatch(new RegExp(`Publish Violation - User "${user}", Subject "walrus\\.decision\\.a"`));
    }
    const after = await storedOn('walrus.decision.a');
    expect(after).toEqual(before);
    for (const id of forged) expect(after.join('\n')).not.toContain(id);
    expect(await maxWalSizeMb(pgc)).not.toBe(900);
  }, 120_000);

  it('does not let the control user publish a decision or write walrus_state, directly or through the JetStream API', async () => {
    await servicesStarted();
    const nc = await as('walrus-control');
    const js = jetstream(nc, { timeout: 10_000 });
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const forged = decision('x', { new_size_mb: 900 });
    // Cluster x: no other test writes its subjects or its key, so "nothing stored" holds in any order.
    // The server refuses the publish itself: its error comes back at once, and its log names the violation.
    await expect(js.publish('walrus.decision.x', JSON.stringify(forged))).rejects.toThrow(refused('walrus.decision.x'));
    await expect(js.publish('$KV.walrus_state.x', '{"v":1}')).rejects.toThrow(refused('$KV.walrus_state.x'));
    const kv = await new Kvm(nc).open('walrus_state');
    await expect(kv.put('x', '{"v":1}')).rejects.toThrow(refused('$KV.walrus_state.x'));
    await expect(kv.delete('x')).rejects.toThrow(refused('$KV.walrus_state.x'));
    await expect(jsm.streams.purge('KV_walrus_state')).rejects.toThrow(refused('$JS.API.STREAM.PURGE.KV_walrus_state'));
    // Not through a push consumer either: one on the DLQ (a stream it could once write to) delivering to walrus.decision.x.
    await expect(jsm.consumers.add('WALRUS_DLQ', { name: 'forge', deliver_subject: 'walrus.decision.x', ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All })).rejects.toThrow(
      refused(/\$JS\.API\.CONSUMER\.CREATE\.WALRUS_DLQ\.forge/),
    );
    await expect(js.publish('walrus.dlq.control', JSON.stringify(forged))).rejects.toThrow(refused('walrus.dlq.control'));
    // Nor take the deciders' requests in their place.
    const errors: string[] = [];
    const sub = nc.subscribe('walrus.decider.analyze', {
      queue: 'walrus-decider',
      callback: (e) => {
        if (e) errors.push(e.message);
      },
    });
    await nc.flush().catch(() => undefined);
    await waitFor(() => errors.length > 0, { what: 'a subscription violation', timeoutMs: 5000 });
    expect(errors[0]).toMatch(/Permissions Violation for Subscription to "walrus\.decider\.analyze"/);
    sub.unsubscribe();

    const log = await nats.log();
    expect(log).toMatch(/Publish Violation - User "walrus-control", Subject "walrus\.decision\.x"/);
    expect(log).toMatch(/Publish Violation - User "walrus-control", Subject "\$KV\.walrus_state\.x"/);
    const admin = await jetstreamManager(await as('walrus-admin'));
    expect((await admin.streams.info('WALRUS_DECISIONS', { subjects_filter: 'walrus.decision.x' })).state.subjects ?? {}).toEqual({});
    expect((await admin.streams.info('KV_walrus_state', { subjects_filter: '$KV.walrus_state.x' })).state.subjects ?? {}).toEqual({});
    expect(await admin.consumers.info('WALRUS_DLQ', 'forge').catch(() => null)).toBeNull();
  }, 120_000);

  it('lets only the control user ask the deciders; the cli user may not', async () => {
    const nc = await as('walrus-cli');
    await expect(nc.request('walrus.decider.reset', JSON.stringify({ cluster: 'a' }), { timeout: 10_000 })).rejects.toThrow(refused('walrus.decider.reset'));
    expect(await nats.log()).toMatch(/Publish Violation - User "walrus-cli", Subject "walrus\.decider\.reset"/);
  });

  it('does not let an applier read another cluster\'s decisions', async () => {
    await servicesStarted();
    const decider = await as('walrus-decider');
    await jetstream(decider).publish('walrus.decision.b', JSON.stringify(decision('b', { action: 'skipped' })));
    const nc = await as('walrus-applier-1');
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    // Not another cluster's consumer, not its own consumer name with another filter, not the stream's messages.
    const create = (name: string) => refused(new RegExp(`\\$JS\\.API\\.CONSUMER\\.CREATE\\.WALRUS_DECISIONS\\.${name}[^"]*`));
    await expect(jsm.consumers.add('WALRUS_DECISIONS', { durable_name: 'walrus-applier-b', filter_subject: 'walrus.decision.b', ack_policy: AckPolicy.Explicit })).rejects.toThrow(create('walrus-applier-b'));
    await expect(jsm.consumers.add('WALRUS_DECISIONS', { durable_name: 'walrus-applier-a', filter_subject: 'walrus.decision.b', ack_policy: AckPolicy.Explicit })).rejects.toThrow(create('walrus-applier-a'));
    await expect(jsm.consumers.add('WALRUS_DECISIONS', { name: 'sneaky', filter_subject: 'walrus.decision.>', ack_policy: AckPolicy.None })).rejects.toThrow(create('sneaky'));
    await expect(jsm.streams.getMessage('WALRUS_DECISIONS', { last_by_subj: 'walrus.decision.b' })).rejects.toThrow(refused(/\$JS\.API\.(DIRECT|STREAM\.MSG)\.GET\.WALRUS_DECISIONS[^"]*/));
    // Nor a plain subscription.
    const seen: string[] = [];
    const errors: Error[] = [];
    const sub = nc.subscribe('walrus.decision.>', {
      callback: (e, m) => {
        if (e) errors.push(e);
        else if (m) seen.push(m.subject);
      },
    });
    await nc.flush().catch(() => undefined);
    await jetstream(decider).publish('walrus.decision.b', JSON.stringify(decision('b', { action: 'skipped' })));
    // Once JetStream acknowledged the publish, a copy for this subscription (if the server
    // allowed one) was queued to the connection before the answer to this ping.
    await nc.flush().catch(() => undefined);
    expect(seen).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/Permissions Violation for Subscription/i)]);
    sub.unsubscribe();
    // The admin sees that the decision is there: it is permissions, not absence.
    const admin = await jetstreamManager(await as('walrus-admin'));
    expect((await admin.streams.getMessage('WALRUS_DECISIONS', { last_by_subj: 'walrus.decision.b' }))?.subject).toBe('walrus.decision.b');
  });

  it('rejects an out-of-bounds decision from the authorized decider, and one for a cluster it does not own', async () => {
    await servicesStarted();
    const alerts = await as('walrus-alerts');
    const results: ApplyResult[] = [];
    void collect(alerts.subscribe('walrus.applied.>'), results);
    await alerts.flush();
    const js = jetstream(await as('walrus-decider'));
    // Sizes the pipeline of the secrets test never sets (64 MB times whole numbers).
    const tooBig = decision('a', { new_size_mb: 4096 });
    const notOurs = decision('b', { new_size_mb: 555 });
    await js.publish('walrus.decision.a', JSON.stringify(tooBig));
    // A decision naming cluster b on a's subject: the applier checks the payload too.
    await js.publish('walrus.decision.a', JSON.stringify(notOurs));
    const outcome = (id: string) => waitFor(() => results.find((r) => r.decision_id === id), { timeoutMs: 30_000, what: `the outcome of ${id}` });
    expect(await outcome(tooBig.id)).toMatchObject({ status: 'rejected', error: expect.stringMatching(/outside the applier's bounds 2\.\.1000 MB/) });
    expect(await outcome(notOurs.id)).toMatchObject({ status: 'rejected', error: expect.stringMatching(/not served by this applier/) });
    expect([4096, 555]).not.toContain(await maxWalSizeMb(pgc));
  }, 120_000);
});

describe('security - secrets never leave the process', () => {
  it('runs the pipeline to a real resize, and no log, metric, status answer, decision or history row shows a password', async () => {
    await pipelineResized();
    const pg = await import('pg');
    const history = new pg.default.Client({ connectionString: pgc.urlFor('history') });
    await history.connect();
    let rows: unknown[] = [];
    await waitFor(
      async () => {
        rows = (await history.query(`SELECT row_to_json(h) AS r FROM walrus.history h`)).rows;
        return rows.length > 0;
      },
      { timeoutMs: 30_000, what: 'history rows' },
    );
    await history.end();

    const admin = await as('walrus-admin');
    const jsm = await jetstreamManager(admin);
    const streamText: string[] = [];
    for (const stream of ['WALRUS_SAMPLES', 'WALRUS_DECISIONS', 'WALRUS_DLQ', 'KV_walrus_state']) {
      const info = await jsm.streams.info(stream);
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (m) streamText.push(m.string());
      }
    }
    const http: string[] = [];
    for (const [name, p] of Object.entries(procs)) {
      const started = p.lines.find((l) => l.msg === 'started');
      const port = started?.metricsPort as number;
      // The control service also serves the live page's data: the fleet (the status answer) and a cluster's series.
      const paths = ['/metrics', '/healthz', '/readyz', ...(name === 'control' ? ['/api/fleet', '/api/series?cluster=a&minutes=60'] : [])];
      for (const path of paths) http.push(await (await fetch(`http://127.0.0.1:${port}${path}`)).text());
    }
    // What an operator's `walrus status`, `history` and `recommend` print: the control service's answers.
    const cli = await as('walrus-cli');
    const answers: string[] = [];
    for (const [endpoint, body] of [
      ['status', {}],
      ['status', { cluster: 'a' }],
      ['history', { limit: 100 }],
      ['recommendation', { cluster: 'a' }],
      ['info', {}],
    ] as const) {
      answers.push((await cli.request(`walrus.api.${endpoint}`, JSON.stringify(body), { timeout: 15_000 })).string());
    }
    const logs = [...Object.values(procs), ...retired].map((p) => p.stdout() + p.stderr());
    const secrets = [PG_PASSWORD, ...Object.values(creds).map((c) => defined(c.NATS_PASSWORD))];
    const everything = {
      logs: logs.join('\n'),
      http: http.join('\n'),
      answers: answers.join('\n'),
      history: JSON.stringify(rows),
      streams: streamText.join('\n'),
    };
    // The outputs are not empty: the test looks at real text.
    expect(everything.logs).toMatch(/max_wal_size changed/);
    expect(everything.history).toMatch(/"apply_status":"applied"/);
    expect(everything.http).toMatch(/walrus_apply_total/);
    expect(everything.http).toMatch(/"cluster":"a"/);
    const [, one, historyAnswer, recommendation] = answers.map((a) => JSON.parse(a) as { ok: boolean; result: Record<string, unknown> });
    expect(one).toMatchObject({ ok: true, result: { clusters: [expect.objectContaining({ cluster: 'a', reachable: true, total_adjustments: expect.any(Number) })] } });
    expect(historyAnswer).toMatchObject({ ok: true, result: { rows: expect.arrayContaining([expect.objectContaining({ cluster: 'a', apply_status: 'applied' })]) } });
    expect(recommendation).toMatchObject({ ok: true, result: { cluster: 'a', sample_source: 'live' } });
    for (const [where, text] of Object.entries(everything)) {
      for (const secret of secrets) expect(text.includes(secret), `a password in ${where}`).toBe(false);
    }
  }, 120_000);

  it('analyze --apply and reset as the walrus-cli user: the control service asks the decider, which alone publishes and writes', async () => {
    await pipelineResized();
    // No sample in between: the live read must see the forced checkpoint the decider has not evaluated.
    retired.push(defined(procs.collector));
    await defined(procs.collector).stop();
    try {
      await pgc.query("ALTER SYSTEM SET max_wal_size = '64MB'");
      await pgc.query('SELECT pg_reload_conf()');
      await pgc.query('CHECKPOINT');
      const cli = (...args: string[]) => startWalrus(args, serviceEnv('walrus-cli', {}));
      const analyze = cli('analyze', 'a', '--apply', '--json');
      expect(await analyze.exited).toBe(0);
      const result = JSON.parse(analyze.stdout()) as { max_wal_size_mb: number; recommendation: { forced_checkpoints: number } };
      // The forced checkpoints since the decider's last sample: ours, and maybe one of the pipeline's.
      const forced = result.recommendation.forced_checkpoints;
      expect(forced).toBeGreaterThanOrEqual(1);
      expect(result).toMatchObject({ applied: true, apply_status: 'applied', max_wal_size_mb: 64 * (forced + 1), recommendation: { sample_source: 'live' } });
      expect(await maxWalSizeMb(pgc)).toBe(64 * (forced + 1));
      // The fleet status lists the bucket's keys (a push consumer on it) under the control user's narrowed permissions.
      const fleet = cli('status', '--json');
      expect(await fleet.exited).toBe(0);
      expect(JSON.parse(fleet.stdout())).toMatchObject({ clusters: [{ cluster: 'a', has_state: true, total_adjustments: expect.any(Number) }] });
      const reset = cli('reset', 'a');
      expect(await reset.exited).toBe(0);
      expect(reset.stdout()).toBe('state of a cleared: the next sample starts a new baseline\n');
      expect(defined(procs.decider).lines.some((l) => l.msg === 'manual analyze published a decision (rate limits bypassed)')).toBe(true);
      // And the page's chart, read through ordered consumers under the control user's narrowed JetStream permissions.
      const port = defined(procs.control).lines.find((l) => l.msg === 'started')?.metricsPort as number;
      const series = (await (await fetch(`http://127.0.0.1:${port}/api/series?cluster=a&minutes=60`)).json()) as { points: unknown[]; decisions: unknown[] };
      expect(series.points.length).toBeGreaterThan(0);
      expect(series.decisions.length).toBeGreaterThan(0);
    } finally {
      // The shared pipeline as the other tests expect it: sampling again.
      procs.collector = startWalrus(['collector'], serviceEnv('walrus-collector', { WALRUS_CLUSTERS: `a=${clusterUrl}`, WALRUS_SAMPLE_INTERVAL: '1' }));
      await procs.collector.waitForLog((l) => l.msg === 'started', 'the collector started again', 60_000);
    }
  }, 120_000);

  it('the services never hit a permission they lack (the generated permissions cover what they do)', async () => {
    // Start-up (provisioning) and a whole resize, under each service's own user.
    await pipelineResized();
    // Services name their connections walrus-<service>; the test's own probes are unnamed.
    const violations = (await nats.log()).split('\n').filter((l) => /nats\.js:walrus-[a-z]+" - \w+ Violation/.test(l));
    expect(violations).toEqual([]);
  }, 120_000);

  it('warns once at start-up that the applier connects as a superuser, with the advice to use walrus grants', async () => {
    await servicesStarted();
    // The role check runs beside the start-up, not before "started".
    await defined(procs.applier).waitForLog((l) => /as a superuser/.test(l.msg), 'the superuser warning');
    const warnings = defined(procs.applier).lines.filter((l) => /as a superuser/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ cluster: 'a', role: 'postgres', msg: expect.stringMatching(/walrus grants <role>/) });
  }, 120_000);
});

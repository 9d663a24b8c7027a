/**
 * The password of a registry entry (issue 21): accepted in the URL, from a
 * password file, never printed, logged or returned. The server requires a
 * password of the role walrus connects as, so a sample is proof that the
 * password was used; then every log, CLI and API answer, and every stored
 * sample, decision, outcome and alert is searched for it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { control } from '@walrus/control';
import { decider } from '@walrus/decider';
import { runControlCommand, type Output } from '@walrus/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessService } from './harness/in-process.js';
import { testDecision } from './harness/messages.js';
import { cleanupAll, registerCleanup, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';

const SECRET = 'Pw-Sekret-4242';
const WRONG = 'Wr0ng-Sekret-9';

let nats: NatsServer;
let pg: PostgresCluster;
let ctl: InProcessService;
let dec: InProcessService;
let collector: WalrusProcess;
let applier: WalrusProcess;
let watch: SubjectWatch;
let nc: NatsConnection;
const answers: string[] = [];

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o: Output = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await runControlCommand(args[0] ?? '', args.slice(1), { NATS_URL: nats.url }, o);
  answers.push(out, err);
  return { code, out, err };
}

const url = (user: string, password: string | null) => `postgres://${user}${password === null ? '' : `:${password}`}@127.0.0.1:${pg.port}/postgres`;

beforeAll(async () => {
  [nats, pg] = await Promise.all([startNats(), startPostgres({ version: 17, config: { max_wal_size: '64MB' } })]);
  await pg.query(`CREATE ROLE walrus_pw LOGIN PASSWORD '${SECRET}'`);
  await pg.query('GRANT pg_monitor TO walrus_pw');
  await pg.query('GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO walrus_pw');
  await pg.query('GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO walrus_pw');
  // This role must give its password (the harness's servers trust everyone else).
  const hba = join(pg.dataDir, 'pg_hba.conf');
  writeFileSync(hba, `host all walrus_pw 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
  await pg.query('SELECT pg_reload_conf()');
  nc = await connect({ servers: nats.url, name: 'fleet-secrets-test' });
  watch = await SubjectWatch.open(nats.url, ['walrus.sample.>', 'walrus.applied.>']);
  ctl = await startInProcess(control, { WALRUS_PAGE: 'false' }, nats.url);
  dec = await startInProcess(decider, {}, nats.url);
  const dir = mkdtempSync(join(tmpdir(), 'walrus-test-secrets-'));
  registerCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  const pwFile = join(dir, 'password');
  writeFileSync(pwFile, `${SECRET}\n`);
  expect((await cli(['clusters', 'add', 'pw-url', url('walrus_pw', SECRET)])).code).toBe(0);
  expect((await cli(['clusters', 'add', 'pw-file', url('walrus_pw', null), '--password-file', pwFile, '--param', 'max=1GB'])).code).toBe(0);
  expect((await cli(['clusters', 'add', 'pw-bad', url('walrus_pw', WRONG)])).code).toBe(0);
  const env = { NATS_URL: nats.url, WALRUS_SAMPLE_INTERVAL: '1', WALRUS_LEASE_SEC: '3', LOG_LEVEL: 'debug' };
  collector = startWalrus(['collector'], env);
  applier = startWalrus(['applier'], env);
}, 120_000);

afterAll(async () => {
  await Promise.all([collector?.stop(), applier?.stop()]);
  await dec?.stop();
  await ctl?.stop();
  await watch?.close();
  await nc?.close();
  await cleanupAll();
});

/** Every message stored in a stream, as text. */
async function streamText(stream: string): Promise<string> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m) out.push(m.subject, m.string(), JSON.stringify(m.header ? Object.fromEntries([...m.header.keys()].map((k) => [k, m.header?.get(k)])) : {}));
  }
  return out.join('\n');
}

describe('fleet - a registry entry\'s password is used, and never shown', () => {
  it('samples with the password from the URL and from a password file, and reports the wrong one without it', async () => {
    await waitFor(() => ['pw-url', 'pw-file'].every((c) => watch.on(`walrus.sample.${c}`).length >= 2) || null, { what: 'samples of both clusters with a password' });
    // The registry's parameter is in the sample, under the server's own settings.
    expect(watch.on('walrus.sample.pw-file').at(-1)).toMatchObject({ settings: { 'walrus.max': '1GB' } });
    await collector.waitForLog((l) => l.cluster === 'pw-bad' && l.msg.startsWith('cluster unreachable'), 'the wrong password reported');
    const d = testDecision('pw-url', { old_size_mb: 64, new_size_mb: 96 });
    await jetstream(nc).publish('walrus.decision.pw-url', JSON.stringify(d));
    expect(await watch.next('walrus.applied.pw-url', (r) => r.decision_id === d.id, 'the decision applied with the password')).toMatchObject({ status: 'applied' });
  });

  it('shows no password in the CLI, the API, any log, or any sample, decision, outcome or alert', async () => {
    const list = await cli(['clusters', 'list']);
    expect(list.out).toContain('pw-url');
    expect(list.out).toContain('***');
    await cli(['clusters', 'list', '--json']);
    const show = await cli(['clusters', 'show', 'pw-url', '--json']);
    expect(JSON.parse(show.out)).toMatchObject({ cluster: 'pw-url', password: 'url' });
    expect(JSON.parse((await cli(['clusters', 'show', 'pw-file', '--json'])).out)).toMatchObject({ password: 'password_file' });
    await cli(['clusters', 'show', 'pw-bad']);
    await cli(['status']);
    await cli(['status', '--json']);
    for (const c of ['pw-url', 'pw-file', 'pw-bad']) {
      await cli(['status', c, '--json']);
      await cli(['recommend', c]);
    }
    // Adding it again names the conflict, and the URL in the answer is hidden.
    const again = await cli(['clusters', 'add', 'pw-url', url('walrus_pw', SECRET)]);
    expect(again.code).toBe(2);
    const info = await nc.request('walrus.api.info', '{}');
    answers.push(info.string());
    const everything = [
      ...answers,
      collector.stdout(),
      collector.stderr(),
      applier.stdout(),
      applier.stderr(),
      ...ctl.lines.map((l) => JSON.stringify(l)),
      ...dec.lines.map((l) => JSON.stringify(l)),
      await streamText('WALRUS_SAMPLES'),
      await streamText('WALRUS_DECISIONS'),
      await streamText('WALRUS_DLQ'),
    ].join('\n');
    expect(everything.length).toBeGreaterThan(10_000);
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(WRONG);
  });
});

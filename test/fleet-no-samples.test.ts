/**
 * A quiet cluster is an alert (issue 21): a registered cluster whose
 * collector goes away gets `no_samples` on walrus.alert.<cluster> after
 * three sample intervals (here the minimum, 60 s), from two deciders
 * sweeping at once but stored once, shown by `walrus status` and the
 * metric, and resolved by its next sample.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { control } from '@walrus/control';
import { decider } from '@walrus/decider';
import { runControlCommand, type Output } from '@walrus/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defined } from './harness/defined.js';
import { startInProcess, type InProcessService } from './harness/in-process.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';

let nats: NatsServer;
let pg: PostgresCluster;
let ctl: InProcessService;
const deciders: InProcessService[] = [];
let collector: WalrusProcess | null = null;
let watch: SubjectWatch;
let nc: NatsConnection;

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const o: Output = { out: (t) => void (out += t), err: () => undefined };
  const code = await runControlCommand(defined(args[0]), args.slice(1), { NATS_URL: nats.url }, o);
  return { code, out };
}

const startCollector = () => startWalrus(['collector'], { NATS_URL: nats.url, WALRUS_SAMPLE_INTERVAL: '1', WALRUS_LEASE_SEC: '3', WALRUS_COLLECTOR_ID: 'only-one', LOG_LEVEL: 'info' });

beforeAll(async () => {
  [nats, pg] = await Promise.all([startNats(), startPostgres({ version: 17, config: { max_wal_size: '64MB' } })]);
  nc = await connect({ servers: nats.url, name: 'fleet-no-samples-test' });
  watch = await SubjectWatch.open(nats.url, ['walrus.sample.>', 'walrus.alert.>']);
  ctl = await startInProcess(control, { WALRUS_PAGE: 'false' }, nats.url);
  for (let i = 0; i < 2; i++) deciders.push(await startInProcess(decider, {}, nats.url));
  expect((await cli(['clusters', 'add', 'quiet-1', pg.url])).code).toBe(0);
  collector = startCollector();
}, 120_000);

afterAll(async () => {
  await collector?.stop();
  await Promise.all(deciders.map((d) => d.stop()));
  await ctl?.stop();
  await watch?.close();
  await nc?.close();
  await cleanupAll();
});

describe('fleet - no_samples', () => {
  it('fires when a registered cluster has no sample for three intervals (at least 60 s), once, and the next sample resolves it', async () => {
    await waitFor(() => watch.on('walrus.sample.quiet-1').length >= 3 || null, { what: 'samples of the registered cluster' });
    await defined(collector).stop();
    collector = null;
    const lastAt = Date.parse(String(defined(watch.on('walrus.sample.quiet-1').at(-1)).collected_at));

    const firing = await watch.next('walrus.alert.quiet-1', (a) => a.kind === 'no_samples' && a.state === 'firing', 'no_samples firing', 150_000);
    expect(firing).toMatchObject({ cluster: 'quiet-1', interval_sec: 1, detail: expect.stringMatching(/^no sample since /) });
    // Not before three intervals and a minute: its time is the moment the silence crossed the limit.
    expect(Date.parse(String(firing.at)) - lastAt).toBeGreaterThanOrEqual(59_000);

    const status = JSON.parse((await cli(['status', 'quiet-1', '--json'])).out) as { alerts_firing: string[] };
    expect(status.alerts_firing).toContain('no_samples');
    expect((await cli(['status'])).out).toMatch(/quiet-1 .*no samples/);
    const metrics = await Promise.all(deciders.map((d) => d.registry.metrics()));
    expect(metrics.some((m) => /^walrus_cluster_no_samples\{cluster="quiet-1"[^}]*\} 1$/m.test(m))).toBe(true);

    collector = startCollector();
    const resolved = await watch.next('walrus.alert.quiet-1', (a) => a.kind === 'no_samples' && a.state === 'resolved', 'no_samples resolved by the next sample');
    expect(resolved).toMatchObject({ cluster: 'quiet-1', detail: expect.stringMatching(/^sampled again at /) });

    // Two deciders swept: the stream holds the firing event once (same id, same message id), and one resolution.
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('WALRUS_DECISIONS', { subjects_filter: 'walrus.alert.quiet-1' });
    expect(info.state.subjects?.['walrus.alert.quiet-1']).toBe(2);
    await waitFor(async () => !/"no_samples"/.test((await cli(['status', 'quiet-1', '--json'])).out) || null, { what: 'the state without the alert' });
  }, 240_000);
});

import { createServer, type AddressInfo, type Socket } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { collector } from '@walrus/collector';
import { SampleV1 } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, freePort, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startInProcess, type InProcessService } from './harness/in-process.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

let nats: NatsServer;
let pg: PostgresCluster;
let svc: InProcessService;
let watch: SubjectWatch;
/** A collector without WALRUS_SAMPLE_INTERVAL, started first so that its 30 s pass while the other tests run (its test comes last). */
let cadence: InProcessService;

beforeAll(async () => {
  let slow: PostgresCluster;
  [nats, pg, slow] = await Promise.all([
    startNats(),
    startPostgres({ version: 15, config: { checkpoint_timeout: '45s' } }),
    // 30 s: PostgreSQL's smallest checkpoint_timeout.
    startPostgres({ version: 17, config: { checkpoint_timeout: '30s' } }),
  ]);
  watch = await SubjectWatch.open(nats.url, ['walrus.sample.>']);
  cadence = await startInProcess(collector, { WALRUS_CLUSTERS: `cadence=${slow.url}` }, nats.url);
  svc = await startInProcess(collector, { WALRUS_CLUSTERS: `up=${pg.url}`, WALRUS_SAMPLE_INTERVAL: '1', WALRUS_CONNECT_TIMEOUT_SEC: '1' }, nats.url);
});
afterAll(async () => {
  await cadence?.stop();
  await svc?.stop();
  await watch?.close();
  await cleanupAll();
});

const upGauge = async () => /walrus_cluster_up\{cluster="up",service="collector"\} (\d)/.exec(await svc.registry.metrics())?.[1];

describe('collector - samples on time, survives a cluster that goes away', () => {
  it('publishes valid samples with deterministic message ids', async () => {
    await watch.next('walrus.sample.up', () => true, 'a sample');
    const sample = SampleV1.parse(watch.on('walrus.sample.up')[0]);
    expect(sample).toMatchObject({ cluster: 'up', server_version_num: expect.any(Number), in_recovery: false, checkpoint_timeout_s: 45 });
    expect(Math.floor(sample.server_version_num / 10000)).toBe(15);
    const jsm = await jetstreamManager(svc.nc);
    const stored = await jsm.streams.getMessage('WALRUS_SAMPLES', { last_by_subj: 'walrus.sample.up' });
    const last = defined(stored).json<{ collected_at: string }>();
    expect(defined(stored).header.get('Nats-Msg-Id')).toBe(`up:${Date.parse(last.collected_at)}`);
  });

  it('reports a cluster down once, keeps retrying, and resumes by itself', async () => {
    expect(await upGauge()).toBe('1');
    await pg.stop();
    await waitFor(async () => (await upGauge()) === '0', { what: 'walrus_cluster_up 0', timeoutMs: 20_000 });
    const downAt = watch.on('walrus.sample.up').length;
    // Several retries happen while it is down; each is not a new report.
    await waitFor(async () => /walrus_sample_errors_total\{cluster="up",stage="connect",service="collector"\} ([3-9]|\d\d)/.test(await svc.registry.metrics()), {
      what: 'three failed attempts',
      timeoutMs: 30_000,
    });
    expect(svc.lines.filter((l) => l.msg === 'cluster unreachable; retrying with backoff')).toHaveLength(1);
    await pg.restart();
    await waitFor(async () => (await upGauge()) === '1', { what: 'walrus_cluster_up 1 again', timeoutMs: 40_000 });
    await waitFor(() => watch.on('walrus.sample.up').length > downAt, { what: 'sampling resumed', timeoutMs: 20_000 });
    expect(svc.lines.filter((l) => l.msg === 'cluster reachable')).toHaveLength(2);
    // The error text names the problem without any password.
    const report = defined(svc.lines.find((l) => l.msg === 'cluster unreachable; retrying with backoff'));
    expect(String(report.error)).toMatch(/ECONNREFUSED|connect|terminat/i);
  });
});

describe('collector - sessions the server ends', () => {
  it('survives its sessions being terminated at any moment, also while it holds one between two queries, and keeps sampling', async () => {
    // A fast shutdown or pg_terminate_backend ends a session wherever the
    // collector is: in a query (that query fails), or holding the connection
    // between its queries, where the error arrives outside any query. That
    // one crashed the process (an 'error' event nobody listened for).
    const before = watch.on('walrus.sample.up').length;
    const killer = await pg.connect();
    let terminated = 0;
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      const rows = await killer.query<{ t: boolean }>("SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE application_name = 'walrus-collector'");
      terminated += rows.rows.filter((r) => r.t).length;
      await new Promise((r) => setTimeout(r, 5));
    }
    await killer.end();
    expect(terminated).toBeGreaterThan(3);
    // Still alive (an uncaught error would fail this file), and sampling again.
    await waitFor(() => watch.on('walrus.sample.up').length >= before + 3 || null, { what: 'samples after the terminations' });
  });
});

describe('collector - a hung or dead cluster never delays the others', () => {
  it('samples a healthy cluster while another hangs in connect and a third refuses, and stops without waiting for the hung connect', async () => {
    // A "server" that accepts connections and never answers: the collector's
    // connect to it lasts the whole connect timeout, 300 s, longer than the
    // test may run (120 s). So nothing here is timed: a healthy sample taken
    // while that connect is pending, and a stop that returns at all, show
    // that neither waits for it.
    const sockets = new Set<Socket>();
    let hungClosed = 0;
    const blackHole = createServer((s) => {
      sockets.add(s);
      s.once('close', () => hungClosed++);
    });
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    const hungPort = (blackHole.address() as AddressInfo).port;
    const deadPort = await freePort();
    const good = await startPostgres({ version: 17 });
    const own = await SubjectWatch.open(nats.url, ['walrus.sample.good2', 'walrus.sample.hung', 'walrus.sample.dead']);
    const c = await startInProcess(
      collector,
      {
        WALRUS_CLUSTERS: `hung=postgres://walrus@127.0.0.1:${hungPort}/postgres,dead=postgres://walrus@127.0.0.1:${deadPort}/postgres,good2=${good.url}`,
        WALRUS_SAMPLE_INTERVAL: '1',
        WALRUS_CONNECT_TIMEOUT_SEC: '300',
        // One query slot: were a hung connect to hold it, the healthy cluster could not be sampled at all.
        WALRUS_COLLECTOR_CONCURRENCY: '1',
      },
      nats.url,
    );
    const hungConnectErrors = async () =>
      Number(/walrus_sample_errors_total\{cluster="hung",stage="connect",service="collector"\} (\d+)/.exec(await c.registry.metrics())?.[1] ?? 0);
    try {
      await waitFor(() => sockets.size > 0 || null, { what: 'the collector to connect to the black hole', timeoutMs: 60_000 });
      const before = own.on('walrus.sample.good2').length;
      await waitFor(() => own.on('walrus.sample.good2').length >= before + 5 || null, { what: 'five more samples of the healthy cluster', timeoutMs: 60_000 });
      // Those five were taken while the first connect to the black hole was still pending.
      expect(hungClosed).toBe(0);
      expect(await hungConnectErrors()).toBe(0);
      expect(own.on('walrus.sample.hung')).toHaveLength(0);
      expect(own.on('walrus.sample.dead')).toHaveLength(0);
      const metrics = await c.registry.metrics();
      expect(metrics).toMatch(/walrus_cluster_up\{cluster="dead",service="collector"\} 0/);
      expect(metrics).toMatch(/walrus_cluster_up\{cluster="good2",service="collector"\} 1/);
      // Nor does the hung connect hold the stop: waiting for it would take 300 s.
      await c.stop();
      expect(await hungConnectErrors()).toBe(0);
    } finally {
      await c.stop();
      await own.close();
      for (const s of sockets) s.destroy();
      blackHole.close();
    }
  });
});

describe('collector - the sample interval', () => {
  it('is the cluster\'s checkpoint_timeout when WALRUS_SAMPLE_INTERVAL is not set', async () => {
    const samples = () => watch.on('walrus.sample.cadence') as Array<{ collected_at: string; checkpoint_timeout_s: number }>;
    await waitFor(() => samples().length >= 2 || null, { what: 'two samples of the cluster', timeoutMs: 90_000, intervalMs: 250 });
    const [first, second] = samples();
    expect(defined(first).checkpoint_timeout_s).toBe(30);
    // Consecutive samples (nothing published in between), 30 s apart give or take the 5 % jitter.
    // Not a stopwatch: only a lower bound, which a shorter default interval would break.
    expect(Date.parse(defined(second).collected_at) - Date.parse(defined(first).collected_at)).toBeGreaterThanOrEqual(28_000);
  }, 120_000);
});

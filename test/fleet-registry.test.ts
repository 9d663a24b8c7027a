/**
 * A fleet that runs itself (issue 21): three collectors and two appliers,
 * real processes, serving one registry of 30 clusters (cluster ids on two
 * real PostgreSQL servers, as bench:fleet does at scale), registered with
 * `walrus clusters add` through a real control service.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { control } from '@walrus/control';
import { runControlCommand, type Output } from '@walrus/cli';
import { SHARED_APPLIER_CONSUMER } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defined } from './harness/defined.js';
import { startInProcess, type InProcessService } from './harness/in-process.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';

const INTERVAL_SEC = 2;
const LEASE_SEC = 4;
const CLUSTERS = Array.from({ length: 30 }, (_, i) => `fleet-${String(i).padStart(2, '0')}`);

let nats: NatsServer;
let servers: PostgresCluster[];
let ctl: InProcessService;
let watch: SubjectWatch;
let nc: NatsConnection;
const collectors = new Map<string, WalrusProcess>();

interface SeenSample {
  cluster: string;
  collector: string;
  atMs: number;
  receivedMs: number;
}
const samples = (): SeenSample[] =>
  watch.messages
    .filter((m) => m.subject.startsWith('walrus.sample.'))
    .map((m) => ({ cluster: String(m.data.cluster), collector: String(m.data.collector), atMs: Date.parse(String(m.data.collected_at)), receivedMs: 0 }));

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o: Output = { out: (t) => void (out += t), err: (t) => void (err += t) };
  return runControlCommand(defined(args[0]), args.slice(1), { NATS_URL: nats.url }, o).then((code) => ({ code, out, err }));
}

const collectorEnv = (id: string) => ({
  NATS_URL: nats.url,
  WALRUS_COLLECTOR_ID: id,
  WALRUS_SAMPLE_INTERVAL: String(INTERVAL_SEC),
  WALRUS_LEASE_SEC: String(LEASE_SEC),
  WALRUS_PRESSURE_PROBE_SEC: '0',
  LOG_LEVEL: 'info',
});

/**
 * No two collectors sample one cluster within one interval: any two samples
 * of a cluster taken by different collectors are at least an interval
 * apart, less the 5 % jitter each side (a handover keeps the interval: the
 * new owner starts from the last stored sample).
 */
function expectOneCollectorPerInterval(): void {
  const byCluster = new Map<string, SeenSample[]>();
  for (const s of samples()) byCluster.set(s.cluster, [...(byCluster.get(s.cluster) ?? []), s]);
  const overlaps: string[] = [];
  for (const [cluster, list] of byCluster) {
    const sorted = [...list].sort((a, b) => a.atMs - b.atMs);
    for (let i = 1; i < sorted.length; i++) {
      const a = defined(sorted[i - 1]);
      const b = defined(sorted[i]);
      if (a.collector !== b.collector && b.atMs - a.atMs < 0.9 * INTERVAL_SEC * 1000) {
        overlaps.push(`${cluster}: ${a.collector} at ${new Date(a.atMs).toISOString()} and ${b.collector} at ${new Date(b.atMs).toISOString()}`);
      }
    }
  }
  expect(overlaps).toEqual([]);
}

/** The collector that sampled each cluster last. */
function owners(): Map<string, string> {
  const out = new Map<string, { collector: string; atMs: number }>();
  for (const s of samples()) {
    const known = out.get(s.cluster);
    if (!known || s.atMs > known.atMs) out.set(s.cluster, { collector: s.collector, atMs: s.atMs });
  }
  return new Map([...out].map(([c, v]) => [c, v.collector]));
}

beforeAll(async () => {
  [nats, ...servers] = await Promise.all([
    startNats(),
    startPostgres({ version: 17, config: { max_wal_size: '64MB' } }),
    startPostgres({ version: 17, config: { max_wal_size: '64MB' } }),
  ]);
  nc = await connect({ servers: nats.url, name: 'fleet-test' });
  watch = await SubjectWatch.open(nats.url, ['walrus.sample.>', 'walrus.applied.>']);
  ctl = await startInProcess(control, { WALRUS_PAGE: 'false' }, nats.url);
  for (const [i, c] of CLUSTERS.entries()) {
    const r = await cli(['clusters', 'add', c, defined(servers[i % 2]).url]);
    expect(r, r.err).toMatchObject({ code: 0 });
  }
  for (const id of ['col-1', 'col-2', 'col-3']) collectors.set(id, startWalrus(['collector'], collectorEnv(id)));
}, 180_000);

afterAll(async () => {
  await Promise.all([...collectors.values()].map((p) => p.stop()));
  await ctl?.stop();
  await watch?.close();
  await nc?.close();
  await cleanupAll();
});

describe('fleet - collectors share the registry', () => {
  it('samples every registered cluster, each by one collector, spread over all three', async () => {
    await waitFor(() => CLUSTERS.every((c) => samples().some((s) => s.cluster === c)) || null, { what: 'a sample of each of the 30 clusters' });
    // Three more intervals of steady sampling.
    const from = Date.now();
    await waitFor(() => CLUSTERS.every((c) => samples().filter((s) => s.cluster === c && s.atMs > from).length >= 3) || null, {
      what: 'three samples of every cluster after the first round',
    });
    const steady = samples().filter((s) => s.atMs > from);
    const perCluster = new Map<string, Set<string>>();
    for (const s of steady) perCluster.set(s.cluster, (perCluster.get(s.cluster) ?? new Set()).add(s.collector));
    for (const c of CLUSTERS) expect([...defined(perCluster.get(c))], c).toHaveLength(1);
    const load = new Map<string, number>();
    for (const [, set] of perCluster) for (const col of set) load.set(col, (load.get(col) ?? 0) + 1);
    expect([...load.keys()].sort()).toEqual(['col-1', 'col-2', 'col-3']);
    expectOneCollectorPerInterval();
    // status names the collector of each cluster, and knows them registered.
    const status = await cli(['status', '--json']);
    const rows = (JSON.parse(status.out) as { clusters: Array<{ cluster: string; collector: string | null; registered: boolean }> }).clusters;
    for (const c of CLUSTERS) expect(rows.find((r) => r.cluster === c)).toMatchObject({ collector: owners().get(c), registered: true });
  });

  it('picks up a cluster added and drops one removed at run time, without a restart', async () => {
    const added = await cli(['clusters', 'add', 'fleet-new', defined(servers[0]).url]);
    expect(added.code, added.err).toBe(0);
    await waitFor(() => samples().some((s) => s.cluster === 'fleet-new') || null, { what: 'a sample of the cluster added' });
    const removedAt = Date.now();
    expect(await cli(['clusters', 'remove', 'fleet-05'])).toMatchObject({ code: 0 });
    // The proof that the removal is in force: every other cluster sampled twice more since.
    const rest = [...CLUSTERS.filter((c) => c !== 'fleet-05'), 'fleet-new'];
    await waitFor(() => rest.every((c) => samples().filter((s) => s.cluster === c && s.atMs > removedAt + 1000).length >= 2) || null, {
      what: 'two samples of every other cluster after the removal',
    });
    // A sample already being read when the registry changed may still go out; none after that.
    expect(samples().filter((s) => s.cluster === 'fleet-05' && s.atMs > removedAt + 1000)).toEqual([]);
    expect((await cli(['clusters', 'show', 'fleet-05'])).code).toBe(1);
  });

  it('kill -9 of a collector under a write load: its clusters are sampled again by the others within the lease plus an interval', async () => {
    const own = owners();
    const victimId = 'col-2';
    const victim = defined(collectors.get(victimId));
    const its = [...own].filter(([, col]) => col === victimId).map(([c]) => c);
    expect(its.length).toBeGreaterThan(0);
    const load = Promise.all(servers.map(async (pg) => {
      await pg.query('CREATE TABLE IF NOT EXISTS fleet_load (id bigserial, pad text)');
      for (let i = 0; i < 10; i++) await pg.query("INSERT INTO fleet_load (pad) SELECT repeat('x', 200) FROM generate_series(1, 20000)");
    }));
    const lastBefore = new Map(its.map((c) => [c, Math.max(...samples().filter((s) => s.cluster === c).map((s) => s.atMs))]));
    victim.proc.kill('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();
    collectors.delete(victimId);
    await waitFor(() => its.every((c) => samples().some((s) => s.cluster === c && s.collector !== victimId && s.atMs > killedAt)) || null, {
      what: `the killed collector's ${its.length} clusters sampled by the others`,
    });
    await load;
    const gaps = its.map((c) => {
      const after = Math.min(...samples().filter((s) => s.cluster === c && s.collector !== victimId && s.atMs > defined(lastBefore.get(c))).map((s) => s.atMs));
      return { cluster: c, gapSec: (after - defined(lastBefore.get(c))) / 1000 };
    });
    // The bound (ARCHITECTURE §8): the lease plus one sample interval, with a few seconds for a busy machine (bench:fleet measures it).
    expect(gaps.filter((g) => g.gapSec > LEASE_SEC + INTERVAL_SEC + 4)).toEqual([]);
    expectOneCollectorPerInterval();
  });

  it('a collector that rejoins takes its share back, never sampling a cluster another still samples', async () => {
    collectors.set('col-2b', startWalrus(['collector'], collectorEnv('col-2b')));
    const from = Date.now();
    await waitFor(() => samples().some((s) => s.collector === 'col-2b' && s.atMs > from) || null, { what: 'the new collector sampling its share' });
    await waitFor(() => CLUSTERS.filter((c) => c !== 'fleet-05').every((c) => samples().filter((s) => s.cluster === c && s.atMs > from).length >= 3) || null, {
      what: 'three samples of every cluster after the join',
    });
    expectOneCollectorPerInterval();
    // Graceful stop: the entry is removed at once, and the others take over without waiting for the lease.
    const leaving = defined(collectors.get('col-2b'));
    const itsNow = [...owners()].filter(([, col]) => col === 'col-2b').map(([c]) => c);
    await leaving.stop();
    collectors.delete('col-2b');
    const stoppedAt = Date.now();
    await waitFor(() => itsNow.every((c) => samples().some((s) => s.cluster === c && s.collector !== 'col-2b' && s.atMs > stoppedAt)) || null, {
      what: 'the stopped collector\'s clusters taken over',
    });
    expectOneCollectorPerInterval();
  });
});

describe('fleet - the JetStream consumers do not grow with the clusters', () => {
  it('has no consumer per cluster: collectors follow buckets, appliers share one durable consumer', async () => {
    const appliers = ['app-1', 'app-2'].map(() => startWalrus(['applier'], { NATS_URL: nats.url, LOG_LEVEL: 'info' }));
    try {
      await Promise.all(appliers.map((a) => a.waitForLog((l) => l.msg.startsWith('applying the decisions of the registry'), 'the applier on the registry')));
      const jsm = await jetstreamManager(nc);
      const names: string[] = [];
      for await (const c of jsm.consumers.list('WALRUS_DECISIONS')) names.push(c.name);
      expect(names.filter((n) => n.startsWith('walrus-applier'))).toEqual([SHARED_APPLIER_CONSUMER]);
      const samplesConsumers: string[] = [];
      for await (const c of jsm.consumers.list('WALRUS_SAMPLES')) samplesConsumers.push(c.name);
      expect(samplesConsumers).toEqual([]);
    } finally {
      await Promise.all(appliers.map((a) => a.stop()));
    }
  });
});

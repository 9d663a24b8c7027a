import { collector } from '@walrus/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startInProcess, type InProcessService } from './harness/in-process.js';
import { SubjectWatch } from './harness/watch.js';
import { requestedCheckpoints, writeWal } from './harness/load.js';
import { defined } from './harness/defined.js';

/*
 * Fast sampling under pressure: clusters sampled every 30 s, a write load
 * of about ten seconds that outgrows their max_wal_size. No decider runs:
 * max_wal_size stays where it is, so the pressure lasts as long as the load.
 */

const INTERVAL_SEC = 30;
const LOAD_MS = 10_000;

let nats: NatsServer;
let pgA: PostgresCluster;
let pgB: PostgresCluster;
let watch: SubjectWatch;
/** Samples `a` (adaptive, from WALRUS_ALGORITHM) and `b` (multiplicative, its own walrus.algorithm). */
let svc: InProcessService;
/** Samples the same server as `a`, under the name `a-off`, with WALRUS_PRESSURE_PROBE_SEC=0. */
let off: InProcessService;
let loadFrom = 0;
let loadTo = 0;
let requestedOnB = 0;

const settings = { max_wal_size: '64MB', checkpoint_timeout: '30s', autovacuum: 'off' } as const;
const at = (s: Record<string, unknown>): number => Date.parse(String(s['collected_at']));
const during = (subject: string) => watch.on(subject).filter((s) => at(s) >= loadFrom && at(s) <= loadTo);
const metric = async (service: InProcessService, name: string, cluster?: string): Promise<number | null> => {
  const labels = cluster === undefined ? '\\{service="collector"\\}' : `\\{cluster="${cluster}",service="collector"\\}`;
  const m = new RegExp(`^${name}${labels} (\\S+)$`, 'm').exec(await service.registry.metrics());
  return m ? Number(m[1]) : null;
};

beforeAll(async () => {
  [nats, pgA, pgB] = await Promise.all([startNats(), startPostgres({ version: 17, config: settings }), startPostgres({ version: 15, config: { ...settings, 'walrus.algorithm': 'multiplicative' } })]);
  watch = await SubjectWatch.open(nats.url, ['walrus.sample.>']);
  const common = { WALRUS_SAMPLE_INTERVAL: String(INTERVAL_SEC), WALRUS_ALGORITHM: 'adaptive' };
  svc = await startInProcess(collector, { ...common, WALRUS_CLUSTERS: `a=${pgA.url},b=${pgB.url}` }, nats.url);
  off = await startInProcess(collector, { ...common, WALRUS_CLUSTERS: `a-off=${pgA.url}`, WALRUS_PRESSURE_PROBE_SEC: '0' }, nats.url);
  for (const c of ['a', 'b', 'a-off']) await watch.next(`walrus.sample.${c}`, () => true, `a first sample of ${c}`);
  const b = defined(watch.on('walrus.sample.b')[0]);
  expect((b['settings'] as Record<string, string>)['walrus.algorithm']).toBe('multiplicative');

  // The same load on both servers at once, for LOAD_MS.
  requestedOnB = await requestedCheckpoints(pgB);
  loadFrom = Date.now();
  const load = async (pg: PostgresCluster) => {
    while (Date.now() - loadFrom < LOAD_MS) await writeWal(pg, { rounds: 1 });
  };
  await Promise.all([load(pgA), load(pgB)]);
  loadTo = Date.now();
  requestedOnB = (await requestedCheckpoints(pgB)) - requestedOnB;
}, 120_000);

afterAll(async () => {
  await off?.stop();
  await svc?.stop();
  await watch?.close();
  await cleanupAll();
});

describe('collector - fast sampling under WAL pressure', () => {
  it('samples an adaptive cluster about every second under a load that outgrows max_wal_size, then at its interval again once relieved', async () => {
    // At a 30 s interval, at most one regular sample could fall within the load.
    expect(during('walrus.sample.a').length).toBeGreaterThanOrEqual(4);
    const entered = svc.lines.filter((l) => l.cluster === 'a' && l.msg === 'WAL pressure: sampling every second until relieved');
    expect(entered.length).toBeGreaterThanOrEqual(1);
    expect(String(defined(entered[0]).reason)).toMatch(/needs \d+ MB, more than max_wal_size 64 MB|forced by WAL volume/);
    expect(await metric(svc, 'walrus_pressure_probes_total', 'a')).toBeGreaterThan(0);
    expect(await metric(svc, 'walrus_pressure_samples_total', 'a')).toBeGreaterThanOrEqual(4);

    // Relieved once the load is over (nothing resizes here), and back to the interval.
    const left = await waitFor(
      () => svc.lines.find((l) => l.cluster === 'a' && l.msg === 'WAL pressure over: back to the sample interval' && l.reason === 'relieved'),
      { what: 'cluster a relieved', timeoutMs: 60_000 },
    );
    expect(Number(left.samples)).toBeGreaterThanOrEqual(4);
    expect(await metric(svc, 'walrus_pressure_fast_sampling_clusters')).toBe(0);
    const relievedCount = watch.on('walrus.sample.a').length;
    await waitFor(() => watch.on('walrus.sample.a').length > relievedCount || null, { what: 'the next regular sample of a', timeoutMs: 60_000 });
    const samples = watch.on('walrus.sample.a').map(at);
    const gap = defined(samples.at(-1)) - defined(samples.at(-2));
    // The interval, give or take its jitter (±5 %).
    expect(gap).toBeGreaterThanOrEqual(INTERVAL_SEC * 1000 * 0.9);
    // Strictly newer, one message each.
    for (let i = 1; i < samples.length; i++) expect(defined(samples[i])).toBeGreaterThan(defined(samples[i - 1]));
  });

  it('does not sample a multiplicative cluster faster under the same load', async () => {
    // The load did force checkpoints there: pressure a probe would have seen.
    expect(requestedOnB).toBeGreaterThan(0);
    expect(during('walrus.sample.b').length).toBeLessThanOrEqual(1);
    expect(svc.lines.filter((l) => l.cluster === 'b' && String(l.msg).startsWith('WAL pressure'))).toEqual([]);
    expect(await metric(svc, 'walrus_pressure_probes_total', 'b')).toBeNull();
    expect(await metric(svc, 'walrus_pressure_samples_total', 'b')).toBeNull();
  });

  it('WALRUS_PRESSURE_PROBE_SEC=0 turns it off', async () => {
    expect(during('walrus.sample.a-off').length).toBeLessThanOrEqual(1);
    expect(off.lines.filter((l) => String(l.msg).startsWith('WAL pressure'))).toEqual([]);
    expect(await metric(off, 'walrus_pressure_probes_total', 'a-off')).toBeNull();
  });
});

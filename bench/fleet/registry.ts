/**
 * (f) A fleet on the registry: `--registry-clusters` entries (10,000 by
 * default) registered in walrus_clusters, served by `--registry-collectors`
 * collector processes (3) sharing them, two appliers on the shared
 * consumer. Measured: the samples per second the collectors sustain, their
 * CPU and memory, the JetStream consumers in use, and, after a `kill -9` of
 * one collector, how long each of its clusters went unsampled (bench/README.md).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { openBucket } from '@walrus/runtime';
import { KV_CLUSTERS_BUCKET, nearestRank } from '@walrus/core';
import { freePort, startNats, startPostgres, waitFor } from '@walrus/servers';
import type { WalrusProcess } from '@walrus/harness';
import type { FleetOptions } from './options.js';
import { startPgBouncer } from './pgbouncer.js';
import { cpuSeconds, rssMb } from './proc.js';

type Spawn = (args: string[], env: Record<string, string>) => WalrusProcess;

interface Seen {
  collector: string;
  atMs: number;
}

const progress = (t: string) => process.stderr.write(`[bench:fleet] ${t}\n`);
const LEASE_SEC = 10;

export interface RegistryFigures {
  clusters: number;
  servers: number;
  collectors: number;
  intervalSec: number;
  firstRoundSec: number;
  samplesPerSec: number;
  expectedPerSec: number;
  collectorCpuPercent: number[];
  collectorRssMb: number[];
  /** Mean database time per sample (connection in hand to sample read), from the collectors' histogram. */
  queryMs: number;
  concurrency: number;
  consumers: { total: number; byStream: Record<string, number> };
  killed: { collector: string; clusters: number; gapMaxSec: number; gapP99Sec: number; gapP50Sec: number; takeoverFirstSec: number; takeoverAllSec: number };
}

export async function registryFigures(o: FleetOptions, spawn: Spawn): Promise<RegistryFigures> {
  const n = o.registryClusters;
  const interval = o.registryIntervalSec;
  progress(`registry: ${n} clusters on ${o.registryServers} PostgreSQL servers behind PgBouncer, ${o.registryCollectors} collectors, ${interval} s interval`);
  const servers = await Promise.all(Array.from({ length: o.registryServers }, () => startPostgres({ version: 17, config: { max_connections: '100' } })));
  const bouncer = await startPgBouncer(servers, n + 500);
  const nats = await startNats();
  const nc: NatsConnection = await connect({ servers: nats.url, name: 'bench-fleet-registry' });
  // Registered as `walrus clusters add` stores them, written straight into the bucket (10,000 requests to a control service would measure it instead).
  const kv = await openBucket(nc, KV_CLUSTERS_BUCKET, { provision: true, replicas: 1 });
  const id = (i: number) => `r${String(i).padStart(5, '0')}`;
  for (let i = 0; i < n; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, n - i) }, (_, k) =>
        kv.put(id(i + k), JSON.stringify({ v: 1, url: `postgres://postgres@127.0.0.1:${bouncer.port}/${bouncer.database(i + k)}` })),
      ),
    );
  }
  progress(`registered ${n} clusters`);

  const last = new Map<string, Seen>();
  const history: Array<{ cluster: string } & Seen> = [];
  let received = 0;
  const sub = nc.subscribe('walrus.sample.>', {
    callback: (_e, m) => {
      const s = m.json<{ cluster: string; collector?: string; collected_at: string }>();
      const seen = { collector: s.collector ?? '?', atMs: Date.parse(s.collected_at) };
      last.set(s.cluster, seen);
      history.push({ cluster: s.cluster, ...seen });
      received++;
    },
  });
  await nc.flush();

  const t0 = performance.now();
  const collectors = new Map<string, { p: WalrusProcess; port: number }>();
  for (let k = 1; k <= o.registryCollectors; k++) {
    const port = await freePort();
    const name = `bench-col-${k}`;
    collectors.set(name, {
      port,
      p: spawn(['collector'], {
        NATS_URL: nats.url,
        WALRUS_COLLECTOR_ID: name,
        WALRUS_SAMPLE_INTERVAL: String(interval),
        WALRUS_LEASE_SEC: String(LEASE_SEC),
        WALRUS_COLLECTOR_CONCURRENCY: String(o.registryConcurrency),
        LOG_LEVEL: process.env.BENCH_DEBUG ? 'info' : 'warn',
        METRICS_PORT: String(port),
      }),
    });
  }
  const appliers = [1, 2].map(() => spawn(['applier'], { NATS_URL: nats.url, LOG_LEVEL: 'warn' }));
  await waitFor(() => last.size >= n || null, { what: `a first sample of all ${n} clusters`, timeoutMs: (interval + 300) * 1000, intervalMs: 500 });
  const firstRoundSec = (performance.now() - t0) / 1000;
  progress(`every cluster sampled after ${firstRoundSec.toFixed(1)} s; measuring ${o.registrySteadySec} s of steady sampling`);

  // Steady state: samples per second, the collectors' CPU and their database time per sample, over whole intervals.
  const queryTime = async () => {
    let sum = 0;
    let count = 0;
    for (const c of collectors.values()) {
      const text = await fetch(`http://127.0.0.1:${c.port}/metrics`).then((r) => r.text());
      sum += Number(/^walrus_collector_query_duration_seconds_sum(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? NaN);
      count += Number(/^walrus_collector_query_duration_seconds_count(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? NaN);
    }
    return { sum, count };
  };
  const q0 = await queryTime();
  const cpu0 = [...collectors.values()].map((c) => cpuSeconds(c.p.proc.pid));
  const r0 = received;
  const s0 = performance.now();
  await sleep(o.registrySteadySec * 1000);
  const seconds = (performance.now() - s0) / 1000;
  const samplesPerSec = (received - r0) / seconds;
  const cpuPercent = [...collectors.values()].map((c, k) => (100 * (cpuSeconds(c.p.proc.pid) - (cpu0[k] ?? NaN))) / seconds);
  const rss = [...collectors.values()].map((c) => rssMb(c.p.proc.pid));
  const q1 = await queryTime();
  const queryMs = (1000 * (q1.sum - q0.sum)) / (q1.count - q0.count);

  const jsm = await jetstreamManager(nc);
  const byStream: Record<string, number> = {};
  for await (const s of jsm.streams.list()) byStream[s.config.name] = s.state.consumer_count;
  const total = Object.values(byStream).reduce((a, b) => a + b, 0);

  // kill -9 of the collector serving the most clusters.
  const owned = new Map<string, string[]>();
  for (const [c, s] of last) owned.set(s.collector, [...(owned.get(s.collector) ?? []), c]);
  const [victim, clusters] = [...owned].sort((a, b) => b[1].length - a[1].length)[0] ?? ['', []];
  const proc = collectors.get(victim);
  if (!proc) throw new Error(`no collector ${victim} to kill`);
  const lastBefore = new Map(clusters.map((c) => [c, last.get(c)?.atMs ?? NaN]));
  progress(`kill -9 of ${victim}, which serves ${clusters.length} clusters`);
  const killedAt = Date.now();
  if (process.env.BENCH_DEBUG) progress(`debug: killed at ${new Date(killedAt).toISOString()}`);
  proc.p.proc.kill('SIGKILL');
  await proc.p.exited;
  const takenOver = () => clusters.filter((c) => (last.get(c)?.collector ?? victim) !== victim);
  await waitFor(() => takenOver().length === clusters.length || null, {
    what: `the ${clusters.length} clusters of the killed collector sampled again`,
    timeoutMs: (interval + LEASE_SEC + 300) * 1000,
    intervalMs: 200,
  });
  const firstAfter = new Map<string, number>();
  for (const h of history) if (h.collector !== victim && h.atMs > killedAt - interval * 1000 && lastBefore.has(h.cluster) && !firstAfter.has(h.cluster) && h.atMs > (lastBefore.get(h.cluster) ?? 0)) firstAfter.set(h.cluster, h.atMs);
  const gaps = clusters.map((c) => ((firstAfter.get(c) ?? NaN) - (lastBefore.get(c) ?? NaN)) / 1000).sort((a, b) => a - b);
  if (process.env.BENCH_DEBUG) {
    const rows = clusters.map((c) => [((lastBefore.get(c) ?? NaN) - killedAt) / 1000, ((firstAfter.get(c) ?? NaN) - killedAt) / 1000]).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
    for (let i = 0; i < rows.length; i += Math.max(1, Math.floor(rows.length / 40))) progress(`debug: last before ${rows[i]?.[0]?.toFixed(1)} s, first after ${rows[i]?.[1]?.toFixed(1)} s`);
    for (const c of collectors.values()) for (const l of c.p.lines.filter((x) => /agreed view|collectors changed|self-fencing|taken in hand/.test(x.msg))) progress(`debug: ${JSON.stringify(l)}`);
  }
  const takeovers = clusters.map((c) => ((firstAfter.get(c) ?? NaN) - killedAt) / 1000).sort((a, b) => a - b);

  sub.unsubscribe();
  await Promise.all([...collectors.values()].map((c) => c.p.stop(10_000)));
  await Promise.all(appliers.map((a) => a.stop(10_000)));
  await nc.close();
  await bouncer.stop();
  return {
    clusters: n,
    servers: servers.length,
    collectors: o.registryCollectors,
    intervalSec: interval,
    firstRoundSec,
    samplesPerSec,
    expectedPerSec: n / interval,
    collectorCpuPercent: cpuPercent,
    collectorRssMb: rss,
    queryMs,
    concurrency: o.registryConcurrency,
    consumers: { total, byStream },
    killed: {
      collector: victim,
      clusters: clusters.length,
      gapMaxSec: gaps.at(-1) ?? NaN,
      gapP99Sec: nearestRank(gaps, 99) ?? NaN,
      gapP50Sec: nearestRank(gaps, 50) ?? NaN,
      takeoverFirstSec: takeovers[0] ?? NaN,
      takeoverAllSec: takeovers.at(-1) ?? NaN,
    },
  };
}

export function registryLines(r: RegistryFigures): string[] {
  const f = (x: number, d = 1) => x.toFixed(d);
  return [
    `(f) registry: ${r.clusters} registered clusters (ids on ${r.servers} PostgreSQL servers behind PgBouncer), ${r.collectors} collectors, ${r.intervalSec} s interval, lease ${LEASE_SEC} s`,
    `    every cluster sampled ${f(r.firstRoundSec)} s after the collectors started`,
    `    sustained ${f(r.samplesPerSec)} samples/s (expected ${f(r.expectedPerSec)}); collectors ${r.collectorCpuPercent.map((c) => `${f(c)}%`).join(', ')} of one core, ${r.collectorRssMb.map((m) => `${f(m, 0)} MB`).join(', ')} resident; database time ${f(r.queryMs)} ms per sample (WALRUS_COLLECTOR_CONCURRENCY ${r.concurrency})`,
    `    JetStream consumers: ${r.consumers.total} (${Object.entries(r.consumers.byStream).map(([s, c]) => `${s} ${c}`).join(', ')})`,
    `    kill -9 of ${r.killed.collector} (${r.killed.clusters} clusters): unsampled max ${f(r.killed.gapMaxSec)} s, p99 ${f(r.killed.gapP99Sec)} s, p50 ${f(r.killed.gapP50Sec)} s (last sample before -> first after; bound: lease + interval = ${LEASE_SEC + r.intervalSec} s); first taken over ${f(r.killed.takeoverFirstSec)} s, all ${f(r.killed.takeoverAllSec)} s after the kill`,
  ];
}

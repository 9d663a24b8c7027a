/**
 * bench/fleet: what one deployment of walrus sustains with many clusters, on
 * this machine, with the real `walrus decider` / `walrus collector` processes
 * over a real nats-server (and real PostgreSQL servers for the collector):
 *   (a) samples per second of one decider process, and of two;
 *   (b) p50 / p99 latency from a sample's publication to its decision at a steady rate;
 *   (c) the decider's resident memory once it has seen every cluster;
 *   (d) the CPU one collector uses serving many cluster entries at a 10 s interval.
 * A measurement, not a test: it prints figures and exits 0 unless something broke.
 * See bench/README.md ("bench:fleet") and docs/SCALING.md.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nearestRank, percentileOf, type Sample } from '@walrus/core';
import { createLogger, DEFAULT_STREAM_OPTIONS, ensureStreams, formatTable } from '@walrus/runtime';
import { cleanupAll, freePort, makeTempDir, registerCleanup, startNats, startPostgres, waitFor, type NatsServer } from '@walrus/servers';
import { collectorLikePublisher, startWalrus, testDecision, type WalrusProcess } from '@walrus/harness';
import { setUpBenchServers } from '../servers.js';
import { parseFleetOptions, type FleetOptions } from './options.js';
import { cpuSeconds, rssMb } from './proc.js';
import { BENCH_POLICY, syntheticSample } from './synthetic.js';

const progress = (t: string) => process.stderr.write(`[bench:fleet] ${t}\n`);
const CONSUMER = 'walrus-decider';
/** The latency run starts a fresh decider: its first seconds include V8 compiling the hot paths. */
const WARM_UP_SEC = 2;
/** Every walrus process started, stopped again at the end whatever happened. */
const spawned: WalrusProcess[] = [];
const spawn = (args: string[], env: Record<string, string>, nodeArgs: string[] = []): WalrusProcess => {
  const p = startWalrus(args, env, { nodeArgs });
  spawned.push(p);
  // Also on Ctrl-C or a timeout's SIGTERM, when the harness removes the servers.
  registerCleanup(async () => void (await p.stop(5000)), { name: `walrus ${args.join(' ')}`, sync: () => p.proc.kill('SIGKILL') });
  return p;
};

/** The server that cluster entry `i` of a fleet lives on (the entries are spread round-robin). */
function serverAt<T>(servers: readonly T[], i: number): T {
  const server = servers[i % servers.length];
  if (server === undefined) throw new Error('no servers started');
  return server;
}

/** Publishes as collectors do (message id, Walrus-Prev-Seq header), 500 at a time; the rounds are in order, each cluster once per round. */
let publishSample: ((s: Sample, timeoutMs?: number) => Promise<void>) | null = null;
async function publishAll(nc: NatsConnection, samples: Sample[]): Promise<void> {
  const publish = (publishSample ??= collectorLikePublisher(jetstream(nc)));
  for (let i = 0; i < samples.length; i += 500) await Promise.all(samples.slice(i, i + 500).map((s) => publish(s)));
}

interface Running {
  p: WalrusProcess;
  port: number;
}

/** Deciders log at warn (a decision log line per sample would cost this process as much as theirs): readiness comes from /readyz. */
async function startDeciders(nats: NatsServer, n: number, profileDir: string | null): Promise<Running[]> {
  // A profile is written when the process exits (SIGTERM at the end of each phase).
  const profiling = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  return Promise.all(
    Array.from({ length: n }, async () => {
      const port = await freePort();
      return { port, p: spawn(['decider'], { NATS_URL: nats.url, LOG_LEVEL: 'warn', METRICS_PORT: String(port), ...BENCH_POLICY }, profiling) };
    }),
  );
}

const started = (ps: Running[]) =>
  Promise.all(
    ps.map((r) =>
      waitFor(() => fetch(`http://127.0.0.1:${r.port}/readyz`).then((res) => res.ok || null, () => null), {
        what: 'walrus process ready',
        timeoutMs: 120_000,
        intervalMs: 100,
      }),
    ),
  );

/** Polls the shared consumer until everything delivered is acknowledged; returns the busy window. */
async function drain(nc: NatsConnection): Promise<{ seconds: number; acked: number }> {
  const jsm = await jetstreamManager(nc);
  const info = () => jsm.consumers.info('WALRUS_SAMPLES', CONSUMER);
  const first = await info();
  const floor0 = first.ack_floor.stream_seq;
  let t0: number | null = null;
  for (;;) {
    const i = await info();
    const now = performance.now();
    if (t0 === null && i.delivered.stream_seq > first.delivered.stream_seq) t0 = now;
    if (t0 !== null && i.num_pending === 0 && i.num_ack_pending === 0) {
      return { seconds: (now - t0) / 1000, acked: i.ack_floor.stream_seq - floor0 };
    }
    await sleep(50);
  }
}

async function throughput(nc: NatsConnection, nats: NatsServer, o: FleetOptions, processes: number, firstRound: number) {
  const samples: Sample[] = [];
  for (let r = firstRound; r < firstRound + o.rounds; r++) for (let i = 0; i < o.clusters; i++) samples.push(syntheticSample(i, r));
  progress(`loading ${samples.length} samples for ${processes} decider(s)`);
  await publishAll(nc, samples);
  const natsCpu0 = cpuSeconds(nats.pid);
  const deciders = await startDeciders(nats, processes, o.profileDir);
  await started(deciders);
  const cpu0 = deciders.map((d) => cpuSeconds(d.p.proc.pid));
  const { seconds } = await drain(nc);
  const deciderCpu = deciders.reduce((sum, d, k) => sum + cpuSeconds(d.p.proc.pid) - (cpu0[k] ?? NaN), 0);
  const natsCpu = cpuSeconds(nats.pid) - natsCpu0;
  await Promise.all(deciders.map((d) => d.p.stop()));
  return { processes, samples: samples.length, seconds, rate: samples.length / seconds, deciderCpuMsPerSample: (deciderCpu * 1000) / samples.length, natsCpuMsPerSample: (natsCpu * 1000) / samples.length };
}

async function latency(nc: NatsConnection, nats: NatsServer, o: FleetOptions, firstRound: number) {
  const running = await startDeciders(nats, 1, o.profileDir);
  await started(running);
  const [first] = running;
  if (!first) throw new Error('no decider started');
  const decider = first.p;
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  /** Latencies of samples published after the first WARM_UP_SEC (the fresh decider's code is compiled by then). */
  const warm: number[] = [];
  let warmFrom = Infinity;
  const sub = nc.subscribe('walrus.decision.>');
  void (async () => {
    for await (const m of sub) {
      const d = m.json<{ cluster: string; sample_at: string }>();
      const t = sent.get(`${d.cluster}|${d.sample_at}`);
      if (t !== undefined) {
        latencies.push(performance.now() - t);
        if (t >= warmFrom) warm.push(performance.now() - t);
      }
    }
  })();
  publishSample ??= collectorLikePublisher(jetstream(nc));
  const total = o.rate * o.seconds;
  progress(`publishing ${total} samples at ${o.rate}/s`);
  const start = performance.now();
  warmFrom = start + WARM_UP_SEC * 1000;
  const acks: Promise<unknown>[] = [];
  let failedPublishes = 0;
  for (let k = 0; k < total; k++) {
    const due = start + (k * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const s = syntheticSample(k % o.clusters, firstRound + Math.floor(k / o.clusters));
    sent.set(`${s.cluster}|${s.collected_at}`, performance.now());
    acks.push(
      publishSample(s, 10_000).catch(() => {
        failedPublishes++;
      }),
    );
  }
  await Promise.all(acks);
  const achievedRate = total / ((performance.now() - start) / 1000);
  for (let i = 0; i < 100 && latencies.length < total; i++) await sleep(100);
  await sleep(500);
  sub.unsubscribe();
  const rss = rssMb(decider.proc.pid);
  await decider.stop();
  const sorted = [...latencies].sort((a, b) => a - b);
  const warmSorted = [...warm].sort((a, b) => a - b);
  const percentile = (values: readonly number[], p: number): number => nearestRank(values, p) ?? NaN;
  return {
    total,
    failedPublishes,
    achievedRate,
    decided: latencies.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    warmP50: percentile(warmSorted, 50),
    warmP99: percentile(warmSorted, 99),
    rss,
  };
}

async function collectorCpu(o: FleetOptions) {
  const perServer = Math.ceil(o.collectorEntries / o.collectorServers);
  progress(`starting ${o.collectorServers} PostgreSQL servers for ${o.collectorEntries} cluster entries`);
  const servers = await Promise.all(
    Array.from({ length: o.collectorServers }, () => startPostgres({ version: 17, config: { max_connections: String(perServer + 20) } })),
  );
  const nats = await startNats();
  const dir = makeTempDir('fleet-');
  const file = join(dir, 'clusters.txt');
  writeFileSync(file, Array.from({ length: o.collectorEntries }, (_, i) => `c${String(i).padStart(5, '0')}=${serverAt(servers, i).url}`).join('\n') + '\n');
  const port = await freePort();
  const collector = spawn(['collector'], { NATS_URL: nats.url, WALRUS_CLUSTERS_FILE: file, WALRUS_SAMPLE_INTERVAL: '10', LOG_LEVEL: 'warn', METRICS_PORT: String(port) });
  await started([{ p: collector, port }]);
  progress('collector warming up (first samples spread over 10 s, connections opened)');
  await sleep(20_000);
  const jsm = await jetstreamManager(await connect({ servers: nats.url }));
  const before = (await jsm.streams.info('WALRUS_SAMPLES')).state.messages;
  const cpu0 = cpuSeconds(collector.proc.pid);
  const t0 = performance.now();
  progress(`measuring the collector's CPU for ${o.collectorSeconds} s`);
  await sleep(o.collectorSeconds * 1000);
  const cpu = cpuSeconds(collector.proc.pid) - cpu0;
  const seconds = (performance.now() - t0) / 1000;
  const published = (await jsm.streams.info('WALRUS_SAMPLES')).state.messages - before;
  const rss = rssMb(collector.proc.pid);
  await collector.stop();
  return { entries: o.collectorEntries, servers: o.collectorServers, seconds, cpuPercent: (100 * cpu) / seconds, samplesPerSec: published / seconds, rss };
}

/**
 * (e) One applier serving as many cluster entries as the collector: time to
 * ready (a durable consumer per cluster), idle CPU and memory, and one
 * decision applied among them.
 */
async function applierFigures(o: FleetOptions) {
  const perServer = Math.ceil(o.collectorEntries / o.collectorServers);
  progress(`applier: ${o.collectorEntries} cluster entries on ${o.collectorServers} PostgreSQL servers`);
  const servers = await Promise.all(
    Array.from({ length: o.collectorServers }, () => startPostgres({ version: 17, config: { max_connections: String(perServer + 20) } })),
  );
  const nats = await startNats();
  const nc = await connect({ servers: nats.url, name: 'bench-fleet-applier' });
  await ensureStreams(nc, DEFAULT_STREAM_OPTIONS, createLogger({ level: 'silent', name: 'bench' }));
  const dir = makeTempDir('fleet-applier-');
  const file = join(dir, 'clusters.txt');
  const id = (i: number) => `a${String(i).padStart(5, '0')}`;
  writeFileSync(file, Array.from({ length: o.collectorEntries }, (_, i) => `${id(i)}=${serverAt(servers, i).url}`).join('\n') + '\n');
  const port = await freePort();
  const t0 = performance.now();
  const applier = spawn(['applier'], { NATS_URL: nats.url, WALRUS_CLUSTERS_FILE: file, LOG_LEVEL: 'warn', METRICS_PORT: String(port) });
  await started([{ p: applier, port }]);
  const readySec = (performance.now() - t0) / 1000;
  progress(`applier ready after ${readySec.toFixed(1)} s; measuring its idle CPU for 30 s`);
  await sleep(5_000); // the start-up role checks run in the background
  const cpu0 = cpuSeconds(applier.proc.pid);
  await sleep(30_000);
  const idlePercent = (100 * (cpuSeconds(applier.proc.pid) - cpu0)) / 30;
  // One decision for the last cluster entry: applied by its own consumer among all the others.
  const cluster = id(o.collectorEntries - 1);
  const server = serverAt(servers, o.collectorEntries - 1);
  const mb = (await server.query<{ mb: number }>("SELECT setting::int AS mb FROM pg_settings WHERE name = 'max_wal_size'"))[0]?.mb;
  if (mb === undefined) throw new Error('pg_settings has no max_wal_size');
  const outcome = new Promise<{ status: string }>((resolve) => {
    const sub = nc.subscribe(`walrus.applied.${cluster}`, { max: 1, callback: (_e, m) => resolve(m.json<{ status: string }>()) });
    void sub;
  });
  const sent = performance.now();
  await jetstream(nc).publish(`walrus.decision.${cluster}`, JSON.stringify(testDecision(cluster, { old_size_mb: mb, new_size_mb: mb + 64 })));
  const result = await Promise.race([outcome, sleep(30_000).then(() => ({ status: 'no outcome within 30 s' }))]);
  const applyMs = performance.now() - sent;
  const rss = rssMb(applier.proc.pid);
  await applier.stop();
  await nc.close();
  return { entries: o.collectorEntries, readySec, idlePercent, rss, status: result.status, applyMs };
}

async function deciderFigures(o: FleetOptions): Promise<string[]> {
  const nats = await startNats();
  const nc = await connect({ servers: nats.url, name: 'bench-fleet' });
  await ensureStreams(nc, DEFAULT_STREAM_OPTIONS, createLogger({ level: 'silent', name: 'bench' }));

  // Round 0 is every cluster's baseline, and creates its state: not timed.
  progress(`baselines for ${o.clusters} clusters`);
  await publishAll(nc, Array.from({ length: o.clusters }, (_, i) => syntheticSample(i, 0)));
  const warm = await startDeciders(nats, 1, null);
  await started(warm);
  await drain(nc);
  await Promise.all(warm.map((d) => d.p.stop()));

  // Runs alternate between one and two deciders, so that a change in what
  // else the machine does affects both alike.
  const runs: Record<1 | 2, Array<Awaited<ReturnType<typeof throughput>>>> = { 1: [], 2: [] };
  let round = 1;
  for (let k = 0; k < o.repeat; k++) {
    for (const n of [1, 2] as const) {
      const r = await throughput(nc, nats, o, n, round);
      round += o.rounds;
      runs[n].push(r);
      progress(`${n} decider(s), run ${k + 1}/${o.repeat}: ${r.rate.toFixed(0)} samples/s`);
    }
  }
  const lat = await latency(nc, nats, o, round);
  await nc.close();
  const f = (n: number, d = 0) => n.toFixed(d);
  const med = (xs: number[]) => percentileOf(xs, 50) ?? NaN;
  const span = (xs: number[], d: number) => `${f(med(xs), d)} (${f(Math.min(...xs), d)}-${f(Math.max(...xs), d)})`;
  const table = formatTable(
    ['', 'samples/s', 'decider CPU ms/sample', 'nats-server CPU ms/sample'],
    ([1, 2] as const).map((n) => {
      const rs = runs[n];
      return [n === 1 ? '1 process' : '2 processes', span(rs.map((r) => r.rate), 0), span(rs.map((r) => r.deciderCpuMsPerSample), 3), span(rs.map((r) => r.natsCpuMsPerSample), 3)];
    }),
    { align: ['left', 'right', 'right', 'right'] },
  );
  return [
    `synthetic clusters: ${o.clusters}; every sample after the baseline is an increase decision (worst case per sample)`,
    `(a) decider throughput, ${o.rounds * o.clusters} samples per run, median (min-max) of ${o.repeat} runs`,
    ...table.split('\n').map((line) => `    ${line}`),
    `(b) latency sample -> decision at ${o.rate}/s (achieved ${f(lat.achievedRate)}/s, ${lat.decided}/${lat.total} decided, ${lat.failedPublishes} publishes timed out): p50 ${f(lat.p50, 1)} ms, p99 ${f(lat.p99, 1)} ms, max ${f(lat.max, 1)} ms; after the first ${WARM_UP_SEC} s (a running decider): p50 ${f(lat.warmP50, 1)} ms, p99 ${f(lat.warmP99, 1)} ms`,
    `(c) decider resident memory after seeing all ${o.clusters} clusters: ${f(lat.rss)} MB`,
  ];
}

async function main(): Promise<void> {
  const o = parseFleetOptions(process.argv.slice(2));
  setUpBenchServers();
  const lines = [
    `bench:fleet  ${new Date().toISOString()}  ${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    '',
  ];
  lines.push(...(o.skipDeciders ? ['(a)-(c) deciders: skipped (--skip-deciders)'] : await deciderFigures(o)));
  const col = o.skipCollector ? null : await collectorCpu(o);
  const app = o.skipApplier ? null : await applierFigures(o);
  lines.push(
    col
      ? `(d) collector, ${col.entries} cluster entries on ${col.servers} PostgreSQL servers, 10 s interval: ${col.cpuPercent.toFixed(1)}% of one core, ${col.samplesPerSec.toFixed(1)} samples/s, ${col.rss.toFixed(0)} MB resident`
      : '(d) collector: skipped (--skip-collector)',
    app
      ? `(e) applier, ${app.entries} cluster entries (a durable consumer each): ready in ${app.readySec.toFixed(1)} s, idle ${app.idlePercent.toFixed(1)}% of one core, ${app.rss.toFixed(0)} MB resident; one decision among them: ${app.status} in ${app.applyMs.toFixed(0)} ms`
      : '(e) applier: skipped (--skip-applier)',
    '',
    'goals: >= 5000 samples/s per decider process; p99 < 50 ms at 1000/s; < 200 MB resident; collector < 20% of one core',
  );
  process.stdout.write(lines.join('\n') + '\n');
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench:fleet failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await Promise.all(spawned.map((p) => p.stop(5000)));
  await cleanupAll();
}

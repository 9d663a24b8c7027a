/**
 * bench/latency: time from a sample's publication to the new max_wal_size
 * being visible on the server, over real nats-server and PostgreSQL, with the
 * real decider and applier; and the collector's database time per sample.
 * A measurement, not a test: it exits 0 whatever the figures, non-zero only
 * when something broke. See bench/README.md.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { availableParallelism, constants, loadavg } from 'node:os';
import { connect } from '@nats-io/transport-node';
import { applier } from '@walrus/applier';
import { decider } from '@walrus/decider';
import { startInProcess, type InProcessService } from '@walrus/harness';
import { cleanupAll, cleanupAllSync, registerCleanup, startNats, startPostgres, tempBase } from '@walrus/servers';
import { setUpBenchServers } from '../servers.js';
import { measureReadSample } from './collector-time.js';
import { describeEnvironment, formatEnvironment } from './environment.js';
import { OBSERVER_SQL, parseOptions, USAGE, UsageError, type LatencyOptions } from './options.js';
import { measureReloadFloor } from './reload-floor.js';
import { RoundDriver, type RoundTiming } from './rounds.js';
import { formatStages, summarize, type Row } from './stats.js';

const CLUSTER = 'bench';
/** The cluster oscillates between these: grow 64 x (1 + 1) = 128 (= walrus.max), shrink 128 x 0.5 = 64 (= walrus.min_size). */
const LOW_MB = 64;
const HIGH_MB = 128;
const GOAL_P99_MS = 100;

/** Every sample yields an executable decision, never a rate-limited one. */
const DECIDER_ENV: Record<string, string> = {
  WALRUS_THRESHOLD: '1',
  WALRUS_MAX: `${HIGH_MB}MB`,
  WALRUS_MIN_SIZE: `${LOW_MB}MB`,
  WALRUS_SHRINK_INTERVALS: '1',
  WALRUS_SHRINK_FACTOR: '0.5',
  WALRUS_COOLDOWN_SEC: '0',
  WALRUS_MAX_CHANGES_PER_HOUR: '1000',
};

const progress = (text: string): void => {
  process.stderr.write(`[bench] ${text}\n`);
};

/** Ctrl-C: kill the servers synchronously (the harness's sync variants) and go; nothing may outlive us. */
function installSignalHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping nats-server and PostgreSQL`);
      cleanupAllSync();
      process.exit(128 + constants.signals[signal]);
    });
  }
  // A terminal's Ctrl-C also reaches the servers (same process group):
  // PostgreSQL's fast shutdown can end a session that a service holds
  // without an 'error' listener before our SIGINT handler has run.
  process.on('uncaughtException', (err) => {
    const shutdown = (err as { code?: unknown }).code === '57P01';
    progress(shutdown ? 'PostgreSQL was shut down under the benchmark (Ctrl-C?); stopping' : `fatal: ${err.stack ?? err.message}`);
    cleanupAllSync();
    process.exit(shutdown ? 130 : 1);
  });
}

async function run(o: LatencyOptions, services: InProcessService[]): Promise<string> {
  const loadBefore = loadavg();
  progress(`starting nats-server and PostgreSQL ${o.pg}`);
  const [nats, pgc] = await Promise.all([
    startNats(),
    startPostgres({ version: o.pg, config: { max_wal_size: `${LOW_MB}MB`, min_wal_size: '32MB' } }),
  ]);
  // Sessions besides the applier's own: the collector's (reads samples), an
  // observer that only ever asks for max_wal_size, and one for the
  // PostgreSQL-only reference.
  const [reader, poller, admin] = await Promise.all([pgc.connect(), pgc.connect(), pgc.connect()]);
  const pollSql = OBSERVER_SQL[o.observer];

  progress(`timing the collector's readSample ${o.reads} times on one connection`);
  const reads = await measureReadSample(reader, CLUSTER, o.reads, 20);
  progress(`timing ALTER SYSTEM + pg_reload_conf() -> visible ${o.floor} times, without walrus`);
  const floor = await measureReloadFloor(admin, poller, pollSql, { count: o.floor, lowMb: LOW_MB, highMb: HIGH_MB, timeoutMs: o.timeoutMs });

  progress('starting the decider and the applier in this process');
  const dec = await startInProcess(decider, DECIDER_ENV, nats.url);
  services.push(dec);
  registerCleanup(() => dec.stop(), { name: 'in-process decider' });
  const app = await startInProcess(applier, { WALRUS_CLUSTERS: `${CLUSTER}=${pgc.url}` }, nats.url);
  services.push(app);
  registerCleanup(() => app.stop(), { name: 'in-process applier' });

  const nc = await connect({ servers: nats.url, name: 'walrus-bench' });
  registerCleanup(() => nc.close(), { name: 'bench NATS connection' });
  const env = await describeEnvironment(reader, nc.info?.version, tempBase(), loadBefore);
  const driver = new RoundDriver({ nc, cluster: CLUSTER, sampler: reader, poller, pollSql, lowMb: LOW_MB, highMb: HIGH_MB, timeoutMs: o.timeoutMs });
  registerCleanup(() => driver.close(), { name: 'bench subscriptions' });
  await driver.ready();
  await driver.baseline();

  progress(`${o.warmup} warm-up decisions`);
  for (let i = 0; i < o.warmup; i++) {
    await driver.round();
    await sleep(o.gapMs);
  }
  progress(`${o.rounds} measured decisions`);
  const timings: RoundTiming[] = [];
  for (let i = 1; i <= o.rounds; i++) {
    timings.push(await driver.round());
    if (i % 50 === 0 && i < o.rounds) progress(`${i}/${o.rounds}`);
    await sleep(o.gapMs);
  }
  return report(o, env, timings, reads, floor);
}

function report(
  o: LatencyOptions,
  env: Awaited<ReturnType<typeof describeEnvironment>>,
  t: RoundTiming[],
  reads: number[],
  floor: { statements: number[]; visible: number[] },
): string {
  const col = (f: (r: RoundTiming) => number) => summarize(t.map(f));
  const e2e = col((r) => r.visibleMs);
  const rows: Row[] = [
    { label: 'sample published -> JetStream ack', summary: col((r) => r.ackMs) },
    { label: 'sample published -> decision received', summary: col((r) => r.decisionMs) },
    { label: 'decision received -> max_wal_size visible', summary: col((r) => r.visibleMs - r.decisionMs) },
    { label: 'max_wal_size visible -> ApplyResult received', summary: col((r) => r.appliedMs - r.visibleMs) },
    { label: 'sample published -> ApplyResult received', summary: col((r) => r.appliedMs) },
    { label: 'sample published -> max_wal_size visible (*)', summary: e2e },
    { label: 'collector readSample, DB time per sample', summary: summarize(reads) },
    ...(floor.visible.length > 0
      ? [
          { label: 'no walrus: ALTER SYSTEM + pg_reload_conf()', summary: summarize(floor.statements) },
          { label: 'no walrus: ALTER SYSTEM + reload -> visible', summary: summarize(floor.visible) },
        ]
      : []),
  ];
  const grows = t.filter((r) => r.action !== 'decrease').length;
  const polls = summarize(t.map((r) => r.polls));
  const pollMean = summarize(t.map((r) => r.pollMeanMs));
  const pollMax = summarize(t.map((r) => r.pollMaxMs));
  // The applier re-reads max_wal_size after pg_reload_conf(); when its own
  // session has not had the reload's SIGHUP yet it waits 50 ms before reading again.
  const recheck = t.filter((r) => r.appliedMs - r.visibleMs > 40).length;
  const pass = e2e.count >= 200 && e2e.p99 < GOAL_P99_MS;
  const busiest = Math.max(env.load1Before, loadavg()[0] ?? 0);
  const busy =
    busiest > availableParallelism() / 2
      ? [`note: the machine was busy (1-minute load up to ${busiest.toFixed(1)} on ${availableParallelism()} cores): tails include waiting for a CPU`]
      : [];
  const verdict =
    e2e.count < 200
      ? `NOT JUDGED: only ${e2e.count} decisions (the goal is stated over at least 200)`
      : `${pass ? 'PASS' : 'FAIL'} (p99 = ${e2e.p99.toFixed(1)} ms over ${e2e.count} decisions)`;
  return [
    '',
    'walrus bench/latency: sample publication -> new max_wal_size visible on the server',
    '',
    formatEnvironment(env),
    '',
    `${t.length} measured decisions (+${o.warmup} warm-up, +1 baseline sample): ${grows} increases ${LOW_MB} -> ${HIGH_MB} MB, ` +
      `${t.length - grows} decreases ${HIGH_MB} -> ${LOW_MB} MB; decider and applier in-process; ${o.gapMs} ms idle between decisions`,
    `collector: ${reads.length} readSample calls on one connection (after 20 not counted); in service: walrus_collector_query_duration_seconds`,
    '',
    'all times in ms',
    formatStages(rows),
    '',
    `(*) observer: a separate session polling ${o.observer === 'pg_settings' ? 'pg_settings' : 'current_setting()'} in a tight loop, ${polls.p50} statements per decision (median),`,
    `    one statement ${pollMean.p50.toFixed(2)} ms (median); the slowest poll of a decision, the most "visible" can be late by:`,
    `    p50 ${pollMax.p50.toFixed(2)}, max ${pollMax.max.toFixed(2)} ms`,
    `ApplyResult: ${recheck} of ${t.length} waited for the applier's 50 ms re-read (its session had not seen the reload yet)`,
    '',
    ...busy,
    `goal: p99 of sample published -> max_wal_size visible < ${GOAL_P99_MS} ms: ${verdict}`,
    '',
  ].join('\n');
}

function dumpServiceLogs(services: InProcessService[]): void {
  for (const s of services) {
    const notable = s.lines.filter((l) => l.level >= 40).slice(-10);
    if (notable.length === 0) continue;
    process.stderr.write(`[bench] ${s.handle.name}: last warnings and errors\n`);
    for (const l of notable) process.stderr.write(`  ${JSON.stringify(l)}\n`);
  }
}

async function main(): Promise<number> {
  let o: LatencyOptions | null;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (!o) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  setUpBenchServers();
  installSignalHandlers();
  const services: InProcessService[] = [];
  let code = 0;
  try {
    process.stdout.write(await run(o, services));
  } catch (err) {
    code = 1;
    process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    dumpServiceLogs(services);
  }
  progress('cleaning up');
  try {
    await cleanupAll();
  } catch (err) {
    code = 1;
    process.stderr.write(`[bench] cleanup: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[bench] fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    cleanupAllSync();
    process.exit(1);
  },
);

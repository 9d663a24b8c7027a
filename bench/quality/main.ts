/**
 * bench/quality: how well each sizing algorithm keeps checkpoints timed on a
 * real pgbench write load (issue 6). PostgreSQL 17 starts with
 * max_wal_size = 32MB and checkpoint_timeout = 30s in postgresql.conf; the
 * arms run one after another on the same cluster, each from 32 MB again,
 * with the real collector, decider and applier in this process. A
 * measurement, not a test: it prints tables and exits 0 whatever the
 * figures. See bench/README.md.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { decider } from '@walrus/decider';
import type pg from 'pg';
import { startInProcess, type InProcessService } from '@walrus/test/in-process';
import { cleanupAll, cleanupAllSync, startNats, startPostgres, type NatsServer, type PostgresCluster } from '@walrus/test';
import { formatLoad } from '../latency/environment.js';
import { burstFigures, formatBurstTable, formatSteadyTable, neededMb, sizeChanges, steadyFigures, type BurstFigures, type SizingSettings, type SteadyFigures } from './figures.js';
import { Monitor, observe } from './monitor.js';
import { PGBENCH, pgbenchInit, pgbenchRun } from './workload.js';

const USAGE = `Usage: pnpm bench:quality [--shape steady|bursts|both] [--duration 150] [--scale 20] [--clients 4]
                          [--sample-interval 5] [--arms none,oneshot,multiplicative,adaptive,percentile]
                          [--bursts 3] [--burst 30] [--quiet 60] [--samples-dir DIR]

--samples-dir writes each walrus arm's samples as JSON lines (DIR/<cluster>.jsonl),
for 'pnpm walrus simulate --file ...'.`;

const ARMS = ['none', 'oneshot', 'multiplicative', 'adaptive', 'percentile'] as const;
type Arm = (typeof ARMS)[number];

const SIZING: SizingSettings = { checkpointTimeoutSec: 30, completionTarget: 0.9, segmentBytes: 16 * 1024 * 1024 };

/*
 * The same rules for every walrus arm: what a DBA would set for a 32 MB
 * cluster. No cooldown (pg_walrus has none) and room for changes in the
 * hour, so that the algorithms, not the rate limits, are compared.
 */
const COMMON_ENV: Record<string, string> = {
  WALRUS_MIN_SIZE: '32MB',
  WALRUS_COOLDOWN_SEC: '0',
  WALRUS_MAX_CHANGES_PER_HOUR: '60',
};

const progress = (text: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

interface Options {
  shape: 'steady' | 'bursts' | 'both';
  duration: number;
  scale: number;
  clients: number;
  sampleInterval: number;
  arms: Arm[];
  bursts: number;
  burst: number;
  quiet: number;
  samplesDir: string | null;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      shape: { type: 'string', default: 'both' },
      duration: { type: 'string', default: '150' },
      scale: { type: 'string', default: '20' },
      clients: { type: 'string', default: '4' },
      'sample-interval': { type: 'string', default: '5' },
      arms: { type: 'string', default: ARMS.join(',') },
      bursts: { type: 'string', default: '3' },
      burst: { type: 'string', default: '30' },
      quiet: { type: 'string', default: '60' },
      'samples-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: not an integer >= ${min} (got ${text})\n${USAGE}`);
    return n;
  };
  const shape = values.shape;
  if (shape !== 'steady' && shape !== 'bursts' && shape !== 'both') throw new Error(`--shape: steady, bursts or both (got ${shape})`);
  const arms = values.arms.split(',').map((a) => a.trim());
  for (const a of arms) if (!(ARMS as readonly string[]).includes(a)) throw new Error(`--arms: unknown arm ${a} (allowed ${ARMS.join(', ')})`);
  return {
    shape,
    duration: int('duration', values.duration, 30),
    scale: int('scale', values.scale, 1),
    clients: int('clients', values.clients, 1),
    sampleInterval: int('sample-interval', values['sample-interval'], 1),
    arms: arms as Arm[],
    bursts: int('bursts', values.bursts, 1),
    burst: int('burst', values.burst, 10),
    quiet: int('quiet', values.quiet, 10),
    samplesDir: values['samples-dir'] ?? null,
  };
}

/** Back to the starting point: 32 MB, a fresh checkpoint, nothing pending. */
async function reset(pgc: PostgresCluster): Promise<void> {
  await pgc.query("ALTER SYSTEM SET max_wal_size = '32MB'");
  await pgc.query('SELECT pg_reload_conf()');
  await pgc.query('CHECKPOINT');
  await sleep(2000);
}

/** collector + decider + applier for one arm, under a cluster id of its own (fresh decider state). */
async function startWalrus(nats: NatsServer, pgc: PostgresCluster, cluster: string, arm: Arm, o: Options): Promise<InProcessService[]> {
  const clusters = { WALRUS_CLUSTERS: `${cluster}=${pgc.url}` };
  const interval: Record<string, string> = arm === 'multiplicative' ? {} : { WALRUS_SAMPLE_INTERVAL: String(o.sampleInterval) };
  const services: InProcessService[] = [];
  services.push(await startInProcess(decider, { ...COMMON_ENV, WALRUS_ALGORITHM: arm }, nats.url));
  services.push(await startInProcess(applier, clusters, nats.url));
  // Wait for the baseline sample before the load starts, as a running walrus would have it.
  const nc = await connect({ servers: nats.url });
  const recorded: string[] = [];
  const sub = nc.subscribe(`walrus.sample.${cluster}`);
  let first: () => void = () => {};
  const gotFirst = new Promise<void>((r) => (first = r));
  void (async () => {
    for await (const m of sub) {
      recorded.push(m.string());
      first();
    }
  })();
  // Stopped right after the collector: writes the samples the arm produced, when asked to.
  services.push({
    stop: async () => {
      await nc.drain();
      if (o.samplesDir !== null) {
        await mkdir(o.samplesDir, { recursive: true });
        await writeFile(join(o.samplesDir, `${cluster}.jsonl`), recorded.join('\n') + '\n');
      }
    },
  } as InProcessService);
  services.push(await startInProcess(collector, { ...clusters, ...interval }, nats.url));
  await gotFirst;
  return services;
}

async function stopAll(services: InProcessService[]): Promise<void> {
  // The collector first, so that the recorder sees every sample it published.
  for (const s of [...services].reverse()) await s.stop().catch(() => {});
}

async function steadyArm(nats: NatsServer, pgc: PostgresCluster, monitorClient: pg.Client, arm: Arm, o: Options): Promise<SteadyFigures> {
  await reset(pgc);
  const services = arm === 'none' || arm === 'oneshot' ? [] : await startWalrus(nats, pgc, `q-steady-${arm}`, arm, o);
  const t0 = Date.now();
  const monitor = new Monitor(monitorClient, t0);
  monitor.points.push(await observe(monitorClient, 0));
  monitor.start();
  progress(`steady / ${arm}: pgbench -c ${o.clients} -T ${o.duration}`);
  const load = pgbenchRun(pgc, o.clients, o.duration);
  if (arm === 'oneshot') {
    // The issue's reference: the formula size set once from the first 10 s.
    await sleep(10_000);
    const first = monitor.points[0];
    if (!first) throw new Error('the monitor has no first point');
    const now = await observe(monitorClient, (Date.now() - t0) / 1000);
    const size = Math.ceil(neededMb((now.walBytes - first.walBytes) / now.t, SIZING));
    await pgc.query(`ALTER SYSTEM SET max_wal_size = '${size}MB'`);
    await pgc.query('SELECT pg_reload_conf()');
    progress(`steady / oneshot: set max_wal_size = ${size} MB at ${now.t.toFixed(1)} s`);
  }
  const result = await load;
  await monitor.stop();
  await stopAll(services);
  const f = steadyFigures(monitor.points, o.duration, result.transactions, result.tps, SIZING);
  progress(`steady / ${arm}: max_wal_size ${describeChanges(monitor.points)}`);
  progress(`steady / ${arm}: ${f.forced} forced, final ${f.finalMb} MB (${f.finalOverNeeded.toFixed(2)}x needed), ${f.tps.toFixed(0)} tps`);
  return f;
}

async function burstArm(nats: NatsServer, pgc: PostgresCluster, monitorClient: pg.Client, arm: Arm, o: Options): Promise<BurstFigures> {
  await reset(pgc);
  const services = arm === 'none' || arm === 'oneshot' ? [] : await startWalrus(nats, pgc, `q-bursts-${arm}`, arm, o);
  const t0 = Date.now();
  const monitor = new Monitor(monitorClient, t0);
  monitor.points.push(await observe(monitorClient, 0));
  monitor.start();
  const bursts: { start: number; end: number; quietEnd: number }[] = [];
  for (let i = 0; i < o.bursts; i++) {
    const start = (Date.now() - t0) / 1000;
    progress(`bursts / ${arm}: burst ${i + 1} of ${o.bursts} (${o.burst} s), then ${o.quiet} s quiet`);
    await pgbenchRun(pgc, o.clients, o.burst);
    const end = (Date.now() - t0) / 1000;
    await sleep(o.quiet * 1000);
    bursts.push({ start, end, quietEnd: (Date.now() - t0) / 1000 });
  }
  await monitor.stop();
  await stopAll(services);
  progress(`bursts / ${arm}: max_wal_size ${describeChanges(monitor.points)}`);
  return burstFigures(monitor.points, bursts);
}

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    // A bad option exits 2, like the other benchmarks.
    process.stderr.write(`bench:quality: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping nats-server and PostgreSQL`);
      cleanupAllSync();
      process.exit(130);
    });
  }
  const loadBefore = formatLoad(loadavg());
  progress('starting nats-server and PostgreSQL 17 (max_wal_size = 32MB, checkpoint_timeout = 30s in postgresql.conf)');
  const [nats, pgc] = await Promise.all([
    startNats(),
    startPostgres({ version: 17, config: { max_wal_size: '32MB', min_wal_size: '32MB', checkpoint_timeout: '30s' } }),
  ]);
  try {
    progress(`pgbench -i -s ${o.scale} (${PGBENCH})`);
    await pgbenchInit(pgc, o.scale);
    const monitorClient = await pgc.connect();
    const out: string[] = [];
    if (o.shape !== 'bursts') {
      const rows: { arm: string; f: SteadyFigures }[] = [];
      for (const arm of o.arms) rows.push({ arm: armLabel(arm, o), f: await steadyArm(nats, pgc, monitorClient, arm, o) });
      out.push(
        `## Steady load: pgbench scale ${o.scale}, ${o.clients} clients, ${o.duration} s; PostgreSQL 17, start at max_wal_size 32 MB, checkpoint_timeout 30 s\n`,
        formatSteadyTable(rows),
        '',
        'needed = (1 + 0.9) x (steady WAL rate x 30 s + 16 MB), the steady rate measured over the last 60 s of each arm.',
        'time to relief = load start to the last forced checkpoint. TPS varies about ±8% between runs on shared machines.',
        '',
      );
    }
    if (o.shape !== 'steady') {
      const rows: { arm: string; f: BurstFigures }[] = [];
      for (const arm of o.arms.filter((a) => a === 'adaptive' || a === 'percentile')) {
        rows.push({ arm: armLabel(arm, o), f: await burstArm(nats, pgc, monitorClient, arm, o) });
      }
      out.push(
        `## Bursts: ${o.bursts} x (${o.burst} s of pgbench, ${o.clients} clients; ${o.quiet} s quiet)\n`,
        formatBurstTable(rows),
        '',
      );
    }
    await monitorClient.end();
    out.push(`walrus settings: ${Object.entries(COMMON_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}; other parameters at their defaults.`);
    out.push(`load average: ${loadBefore} before, ${formatLoad(loadavg())} after`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await cleanupAll();
  }
}

function describeChanges(points: Parameters<typeof sizeChanges>[0]): string {
  const changes = sizeChanges(points);
  return changes.length === 0 ? 'unchanged' : changes.map((c) => `${c.fromMb}->${c.toMb} at ${c.t.toFixed(0)} s`).join(', ');
}

function armLabel(arm: Arm, o: Options): string {
  switch (arm) {
    case 'none':
      return 'no walrus';
    case 'oneshot':
      return 'formula once from the first 10 s';
    case 'multiplicative':
      return 'multiplicative (sample every 30 s)';
    default:
      return `${arm} (sample every ${o.sampleInterval} s)`;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:quality failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  cleanupAllSync();
  process.exit(1);
});

/**
 * bench/quality: how well each sizing algorithm keeps checkpoints timed on
 * real pgbench write loads (issues 6 and 13). PostgreSQL 17 starts with
 * max_wal_size = 32MB and checkpoint_timeout = 30s in postgresql.conf; the
 * shapes (steady, bursts, storm, daily) and their arms run one after another
 * on the same cluster, each from 32 MB again, with the real collector,
 * decider and applier in this process. A measurement, not a test: it prints
 * tables and each goal of issue 13 with PASS/FAIL, and exits 0 whatever the
 * figures (2 on a bad option). See bench/README.md.
 */
import { loadavg } from 'node:os';
import { cleanupAll, cleanupAllSync, startNats, startPostgres } from '@walrus/servers';
import { setUpBenchServers } from '../servers.js';
import { formatLoad } from '../latency/environment.js';
import { runBursts } from './bursts.js';
import { progress, type Context, type ShapeReport } from './context.js';
import { runDaily } from './daily.js';
import { formatGoals } from './goals.js';
import { parseOptions, USAGE, UsageError, type Options, type Shape } from './options.js';
import { runSteady } from './steady.js';
import { runStorm } from './storm.js';
import { COMMON_ENV } from './walrus.js';
import { PGBENCH, pgbenchInit } from './workload.js';

const SHAPES: Record<Shape, (ctx: Context) => Promise<ShapeReport>> = { steady: runSteady, bursts: runBursts, storm: runStorm, daily: runDaily };

function options(): Options {
  try {
    const o = parseOptions(process.argv.slice(2));
    if (o === null) {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    return o;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    // A bad option exits 2, like the other benchmarks.
    process.stderr.write(`bench:quality: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const o = options();
  setUpBenchServers();
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
    const ctx: Context = { nats, pgc, monitorClient, o };
    const reports: ShapeReport[] = [];
    for (const shape of o.shapes) reports.push(await SHAPES[shape](ctx));
    await monitorClient.end();
    const out = reports.map((r) => r.text);
    const goals = reports.flatMap((r) => r.goals);
    out.push('## Goals (issue 13)\n');
    if (goals.length === 0) out.push('no walrus arm ran: nothing to judge');
    else {
      out.push(formatGoals(goals));
      const failed = goals.filter((g) => !g.pass).length;
      out.push('', `${goals.length - failed} of ${goals.length} goals met${failed > 0 ? `, ${failed} not` : ''}.`);
    }
    if (o.timeScale !== 1) out.push(`every phase scaled by ${o.timeScale}: the goals are those of the full run, so PASS/FAIL here is indicative only.`);
    out.push('');
    out.push(`walrus settings: ${Object.entries(COMMON_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}; other parameters at their defaults.`);
    out.push(`load average: ${loadBefore} before, ${formatLoad(loadavg())} after`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await cleanupAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:quality failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  cleanupAllSync();
  process.exit(1);
});

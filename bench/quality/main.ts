/**
 * bench/quality: how well each sizing algorithm keeps checkpoints timed on
 * real write loads (issues 6, 13 and 25). PostgreSQL 17 starts with
 * max_wal_size = 32MB and checkpoint_timeout = 30s in postgresql.conf; the
 * shapes (pgbench and sysbench steady loads, bursts, storm, daily,
 * maintenance operations) and their arms run one after another on the same
 * cluster, each from 32 MB again, with the real collector, decider and
 * applier in this process. Every arm's raw output goes to
 * bench/results/<timestamp>/ and the tables are computed from it (report.ts),
 * as `pnpm bench:quality:report` does later. A measurement, not a test: it
 * prints tables and each goal with PASS/FAIL, and exits 0 whatever the
 * figures (2 on a bad option). See bench/README.md.
 */
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { cleanupAll, cleanupAllSync, startNats, startPostgres } from '@walrus/servers';
import { setUpBenchServers } from '../servers.js';
import { formatLoad } from '../latency/environment.js';
import { runBursts } from './bursts.js';
import { progress, type Context } from './context.js';
import { runDaily } from './daily.js';
import { prepareMaintenance, runMaintenance } from './maintenance.js';
import { MAINTENANCE_SHAPES, parseOptions, USAGE, UsageError, type Options, type Shape } from './options.js';
import { renderReport } from './report.js';
import { readResults, ResultsWriter } from './results.js';
import { runRecurring } from './recurring.js';
import { runSteady } from './steady.js';
import { runStorm } from './storm.js';
import { sysbenchPrepare, SYSBENCH } from './sysbench.js';
import { COMMON_ENV } from './walrus.js';
import { createLoadDatabase, PGBENCH, pgbenchInit } from './workload.js';

const SHAPES: Record<Shape, (ctx: Context) => Promise<void>> = {
  steady: (ctx) => runSteady(ctx, 'steady'),
  oltp_write_only: (ctx) => runSteady(ctx, 'oltp_write_only'),
  oltp_read_write: (ctx) => runSteady(ctx, 'oltp_read_write'),
  bursts: runBursts,
  storm: runStorm,
  daily: runDaily,
  create_index: (ctx) => runMaintenance(ctx, 'create_index'),
  vacuum_freeze: (ctx) => runMaintenance(ctx, 'vacuum_freeze'),
  copy: (ctx) => runMaintenance(ctx, 'copy'),
  recurring: runRecurring,
};

/** bench/results/<UTC timestamp>, e.g. bench/results/2026-12-07T18-20-05Z. */
function defaultResultsDir(): string {
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(':', '-');
  return join(import.meta.dirname, '..', 'results', `${stamp}Z`);
}

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
  progress('starting nats-server and PostgreSQL 17 (max_wal_size = 32MB, checkpoint_timeout = 30s, autovacuum off, log_timezone UTC in postgresql.conf)');
  const [nats, pgc] = await Promise.all([
    startNats(),
    startPostgres({
      version: 17,
      // autovacuum off: a vacuum of one arm's dead rows would write into another arm's figures (workload.ts tablesFresh vacuums between arms);
      // log_checkpoints (on by default) with UTC timestamps: the log tells which checkpoints were WAL-forced, and their redo LSNs.
      config: { max_wal_size: '32MB', min_wal_size: '32MB', checkpoint_timeout: '30s', autovacuum: 'off', log_checkpoints: 'on', log_timezone: 'UTC' },
    }),
  ]);
  try {
    const [version] = await pgc.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    const results = new ResultsWriter(o.results ?? defaultResultsDir(), {
      startedAt: new Date().toISOString(),
      options: o,
      walrusSettings: COMMON_ENV,
      server: `PostgreSQL ${version?.v ?? '?'} (embedded, fsync off, shared_buffers 32MB)`,
      loadBefore,
    });
    progress(`raw output to ${results.dir}`);
    await createLoadDatabase(pgc);
    progress(`pgbench -i -s ${o.scale} (${PGBENCH})`);
    await pgbenchInit(pgc, o.scale);
    if (o.shapes.includes('oltp_write_only') || o.shapes.includes('oltp_read_write')) {
      progress(`sysbench prepare: ${o.sysbenchTables} tables of ${o.sysbenchTableSize} rows (${SYSBENCH})`);
      await sysbenchPrepare(pgc, { tables: o.sysbenchTables, tableSize: o.sysbenchTableSize });
    }
    const monitorClient = await pgc.connect();
    const ctx: Context = { nats, pgc, monitorClient, o, results };
    if (o.shapes.some((sh) => (MAINTENANCE_SHAPES as readonly string[]).includes(sh))) await prepareMaintenance(ctx);
    for (const shape of o.shapes) await SHAPES[shape](ctx);
    await monitorClient.end();
    results.finish(formatLoad(loadavg()));
    const report = renderReport(readResults(results.dir));
    results.writeReport(report);
    process.stdout.write(`${report}raw output: ${results.dir} (pnpm bench:quality:report ${results.dir})\n`);
  } finally {
    await cleanupAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:quality failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  cleanupAllSync();
  process.exit(1);
});

/**
 * The maintenance shapes: one operation a DBA runs, on a quiet cluster that
 * walrus has already sized for its light load. `create_index` builds an
 * index on a table larger than shared_buffers, `vacuum_freeze` freezes that
 * table (every page rewritten, a full-page image each), `copy` loads a copy
 * of it with COPY. A light pgbench (-R --quiet-rate, 2 clients) runs for
 * --before s before, during, and --after s after the operation.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { relativeCheckpoints } from './cycles.js';
import { parseCheckpointLog } from './checkpoint-log.js';
import { armLabel, describeChanges, progress, recordArm, runArm, SIZING, START_MB, type Context, type ShapeReport } from './context.js';
import { maintenanceGoals, type GoalResult } from './goals.js';
import { formatMaintenanceTable, maintenanceFigures, type MaintenanceFigures } from './maintenance-figures.js';
import { scaled, WALRUS_ARMS, type MaintenanceShape, type Options } from './options.js';
import type { ArmRecord } from './results.js';
import { loadQuery, pgbenchRun } from './workload.js';

const QUIET_CLIENTS = 2;
/** The background's pgbench runs in slices this long, so that it stops soon after the watch ends. */
const SLICE_SEC = 5;

const TABLE = 'maint_accounts';
const COPY_TABLE = 'maint_copy';

/** The table the operations work on: pgbench_accounts' shape, --maint-rows rows (4 M: about 500 MB, against 32 MB of shared_buffers). */
async function createTable(ctx: Context): Promise<void> {
  await loadQuery(ctx.pgc, `DROP TABLE IF EXISTS ${TABLE}`);
  await loadQuery(
    ctx.pgc,
    `CREATE TABLE ${TABLE} AS SELECT g AS aid, g % 1000 AS bid, (hashint4(g) % 100000) AS abalance, repeat('x', 84) AS filler FROM generate_series(1, ${ctx.o.maintRows}) g`,
  );
}

function copyFile(ctx: Context): string {
  return join(ctx.pgc.dataDir, 'maint.copy');
}

/** What each shape does before an arm (outside its measured time) and the statement that is its load. */
function operation(ctx: Context, shape: MaintenanceShape): { prepare: () => Promise<void>; sql: string } {
  switch (shape) {
    case 'create_index':
      return { prepare: () => loadQuery(ctx.pgc, `DROP INDEX IF EXISTS ${TABLE}_abalance`), sql: `CREATE INDEX ${TABLE}_abalance ON ${TABLE} (abalance, aid)` };
    case 'vacuum_freeze':
      // A fresh table each arm: frozen once, a table has nothing left to freeze.
      return { prepare: () => createTable(ctx), sql: `VACUUM (FREEZE) ${TABLE}` };
    case 'copy':
      return {
        prepare: async () => {
          await loadQuery(ctx.pgc, `DROP TABLE IF EXISTS ${COPY_TABLE}`);
          await loadQuery(ctx.pgc, `CREATE TABLE ${COPY_TABLE} (LIKE ${TABLE})`);
        },
        sql: `COPY ${COPY_TABLE} FROM '${copyFile(ctx)}'`,
      };
  }
}

/** Once per run, before the first maintenance shape: the table, and the file the copy shape loads. */
export async function prepareMaintenance(ctx: Context): Promise<void> {
  progress(`maintenance: a table of ${ctx.o.maintRows} rows (${TABLE}) and its COPY file`);
  await createTable(ctx);
  await loadQuery(ctx.pgc, `COPY ${TABLE} TO '${copyFile(ctx)}'`);
}

async function walPosition(ctx: Context): Promise<number> {
  const [row] = await ctx.pgc.query<{ b: string }>("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS b");
  return Number(row?.b);
}

export async function runMaintenance(ctx: Context, shape: MaintenanceShape): Promise<void> {
  const { o, pgc } = ctx;
  const before = scaled(o, o.before);
  const after = scaled(o, o.after);
  const op = operation(ctx, shape);
  for (const arm of o.arms.filter((a) => a === 'none' || WALRUS_ARMS.includes(a))) {
    await op.prepare();
    const outputs: string[] = [];
    const run = await runArm(ctx, shape, arm, 'arm', START_MB, async (elapsed) => {
      let stop = false;
      const background = (async () => {
        while (!stop) outputs.push((await pgbenchRun(pgc, QUIET_CLIENTS, SLICE_SEC, o.quietRate)).output);
      })();
      try {
        progress(`${shape} / ${arm}: quiet (pgbench -R ${o.quietRate} -c ${QUIET_CLIENTS}) for ${before} s, then ${op.sql}, then ${after} s quiet`);
        await sleep(before * 1000);
        const loadStartLsnBytes = await walPosition(ctx);
        const loadStart = elapsed();
        await loadQuery(pgc, op.sql);
        const loadEnd = elapsed();
        const loadEndLsnBytes = await walPosition(ctx);
        progress(`${shape} / ${arm}: ${op.sql} took ${(loadEnd - loadStart).toFixed(1)} s`);
        await sleep(after * 1000);
        return { loadStart, loadEnd, loadStartLsnBytes, loadEndLsnBytes, end: elapsed() };
      } finally {
        stop = true;
        await background;
      }
    });
    progress(`${shape} / ${arm}: max_wal_size ${describeChanges(run.points)}`);
    const interval = arm === 'multiplicative' ? 30 : WALRUS_ARMS.includes(arm) ? o.sampleInterval : 0;
    recordArm(
      ctx,
      run,
      { shape, arm, role: 'arm', label: armLabel(arm, o), startMb: START_MB, sampleIntervalSec: interval, load: { kind: 'maintenance', operation: op.sql, ...run.result, afterSec: after } },
      outputs.join('\n'),
    );
  }
  if (shape === 'copy') await loadQuery(pgc, `DROP TABLE IF EXISTS ${COPY_TABLE}`);
}

export function reportMaintenance(shape: MaintenanceShape, records: readonly ArmRecord[], o: Options): ShapeReport {
  const rows: { arm: string; f: MaintenanceFigures }[] = [];
  const goals: GoalResult[] = [];
  let operationSql = '';
  let afterSec = scaled(o, o.after);
  for (const r of records) {
    if (r.load.kind !== 'maintenance') continue;
    operationSql = r.load.operation;
    afterSec = r.load.afterSec;
    const checkpoints = relativeCheckpoints(parseCheckpointLog(r.checkpointLog), r.t0Ms);
    const { loadStart, loadEnd, loadStartLsnBytes, loadEndLsnBytes, end } = r.load;
    const f = maintenanceFigures(r.points, checkpoints, { loadStart, loadEnd, loadWalBytes: loadEndLsnBytes - loadStartLsnBytes, end, sampleIntervalSec: r.sampleIntervalSec || 1 }, SIZING);
    rows.push({ arm: r.label, f });
    if (WALRUS_ARMS.includes(r.arm)) goals.push(...maintenanceGoals(f, afterSec).map((g) => ({ ...g, arm: r.arm, shape })));
  }
  const text = [
    `## Maintenance (${shape}): \`${operationSql.replace(/'[^']*'/, "'<file>'")}\` on ${o.maintRows} rows, after ${scaled(o, o.before)} s of light pgbench (-R ${o.quietRate} -c ${QUIET_CLIENTS}) from 32 MB, watched for ${afterSec} s after${afterSec === 600 ? '' : ' (--after: the goal is 10 min)'}\n`,
    formatMaintenanceTable(rows),
    '',
    'need of the load = the fewest whole 16 MB segments that hold the WAL of the busiest 30 s around the operation; for the load = the largest max_wal_size from its start to 30 s after its end (an operation shorter than a sample interval is over before walrus sees it); quiet need = the need of the WAL rate of the second half of the watch; forced = `checkpoint starting: wal` in the server log, the first interval = the load\'s first sample interval + 1 s.',
    '',
  ].join('\n');
  return { text, goals };
}

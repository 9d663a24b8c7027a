/** The storm shape: light rate-limited pgbench with a manual CHECKPOINT every --checkpoint-every s from another session. */
import { formatStormTable, stormFigures, type StormFigures } from './figures.js';
import { stormGoals, type GoalResult } from './goals.js';
import { armLabel, describeChanges, progress, runArm, SIZING, START_MB, type Context, type ShapeReport } from './context.js';
import { scaled, WALRUS_ARMS } from './options.js';
import { checkpointStorm, pgbenchRun } from './workload.js';

/** Light load: two clients. */
const STORM_CLIENTS = 2;

export async function runStorm(ctx: Context): Promise<ShapeReport> {
  const { o, pgc } = ctx;
  const duration = scaled(o, o.stormDuration);
  const rows: { arm: string; f: StormFigures }[] = [];
  const goals: GoalResult[] = [];
  for (const arm of o.arms.filter((a) => a === 'none' || WALRUS_ARMS.includes(a))) {
    const session = await pgc.connect();
    try {
      const run = await runArm(ctx, 'storm', arm, START_MB, async (elapsed) => {
        progress(`storm / ${arm}: pgbench -R ${o.stormRate} -c ${STORM_CLIENTS} -T ${duration}, CHECKPOINT every ${o.checkpointEvery} s`);
        const start = elapsed();
        const load = pgbenchRun(pgc, STORM_CLIENTS, duration, o.stormRate);
        const checkpoints = await checkpointStorm(session, o.checkpointEvery, load);
        await load;
        return { start, end: elapsed(), checkpoints };
      });
      progress(`storm / ${arm}: max_wal_size ${describeChanges(run.points)}`);
      const f = stormFigures(run.points, run.result.start, run.result.end, run.result.checkpoints, SIZING);
      rows.push({ arm: armLabel(arm, o), f });
      if (WALRUS_ARMS.includes(arm)) goals.push(...stormGoals(f).map((g) => ({ ...g, arm, shape: 'storm' as const })));
    } finally {
      await session.end();
    }
  }
  const text = [
    `## Manual checkpoint storm: pgbench -R ${o.stormRate} -c ${STORM_CLIENTS} for ${duration} s, CHECKPOINT every ${o.checkpointEvery} s, from 32 MB\n`,
    formatStormTable(rows),
    '',
    'need = the fewest whole 16 MB segments at which PostgreSQL forces no checkpoint for 30 s of the average WAL rate over the run (figures.ts neededMb): the WAL actually written, measured by the bench.',
    '',
  ].join('\n');
  return { text, goals };
}

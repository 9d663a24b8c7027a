/** The storm shape: light rate-limited pgbench with a manual CHECKPOINT every --checkpoint-every s from another session. */
import { formatStormTable, stormFigures, type StormFigures } from './figures.js';
import { stormGoals, type GoalResult } from './goals.js';
import { armLabel, describeChanges, progress, recordArm, runArm, SIZING, START_MB, type Context, type ShapeReport } from './context.js';
import { scaled, WALRUS_ARMS, type Options } from './options.js';
import type { ArmRecord } from './results.js';
import { checkpointStorm, pgbenchRun } from './workload.js';

/** Light load: two clients. */
const STORM_CLIENTS = 2;

export async function runStorm(ctx: Context): Promise<void> {
  const { o, pgc } = ctx;
  const duration = scaled(o, o.stormDuration);
  for (const arm of o.arms.filter((a) => a === 'none' || WALRUS_ARMS.includes(a))) {
    const session = await pgc.connect();
    try {
      let output = '';
      const run = await runArm(ctx, 'storm', arm, 'arm', START_MB, async (elapsed) => {
        progress(`storm / ${arm}: pgbench -R ${o.stormRate} -c ${STORM_CLIENTS} -T ${duration}, CHECKPOINT every ${o.checkpointEvery} s`);
        const start = elapsed();
        const load = pgbenchRun(pgc, STORM_CLIENTS, duration, o.stormRate);
        const checkpoints = await checkpointStorm(session, o.checkpointEvery, load);
        output = (await load).output;
        return { start, end: elapsed(), checkpoints };
      });
      progress(`storm / ${arm}: max_wal_size ${describeChanges(run.points)}`);
      const interval = arm === 'multiplicative' ? 30 : WALRUS_ARMS.includes(arm) ? o.sampleInterval : 0;
      recordArm(ctx, run, { shape: 'storm', arm, role: 'arm', label: armLabel(arm, o), startMb: START_MB, sampleIntervalSec: interval, load: { kind: 'storm', ...run.result } }, output);
    } finally {
      await session.end();
    }
  }
}

export function reportStorm(records: readonly ArmRecord[], o: Options): ShapeReport {
  const rows: { arm: string; f: StormFigures }[] = [];
  const goals: GoalResult[] = [];
  for (const r of records) {
    if (r.load.kind !== 'storm') continue;
    const f = stormFigures(r.points, r.load.start, r.load.end, r.load.checkpoints, SIZING);
    rows.push({ arm: r.label, f });
    if (WALRUS_ARMS.includes(r.arm)) goals.push(...stormGoals(f).map((g) => ({ ...g, arm: r.arm, shape: 'storm' as const })));
  }
  const text = [
    `## Manual checkpoint storm: pgbench -R ${o.stormRate} -c ${STORM_CLIENTS} for ${scaled(o, o.stormDuration)} s, CHECKPOINT every ${o.checkpointEvery} s, from 32 MB\n`,
    formatStormTable(rows),
    '',
    'need = the fewest whole 16 MB segments at which PostgreSQL forces no checkpoint for 30 s of the average WAL rate over the run (figures.ts neededMb): the WAL actually written, measured by the bench.',
    '',
  ].join('\n');
  return { text, goals };
}

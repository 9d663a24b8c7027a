/**
 * The daily shape: a day compressed to 10 minutes, from 32 MB: quiet
 * (rate-limited light pgbench) 2 min, a ramp up in steps every 20 s for
 * 2 min, the peak (full pgbench) 2 min, a ramp down for 1 min, quiet 3 min.
 */
import { parseCheckpointLog } from './checkpoint-log.js';
import { relativeCheckpoints, walForcedTimes } from './cycles.js';
import { dailyFigures, formatDailyTable, type DailyFigures, type DailyPhases } from './figures.js';
import { dailyGoals, type GoalResult } from './goals.js';
import { armLabel, describeChanges, progress, recordArm, runArm, SIZING, START_MB, type Context, type ShapeReport } from './context.js';
import type { ArmRecord } from './results.js';
import { scaled, WALRUS_ARMS, type Options } from './options.js';
import { pgbenchRun } from './workload.js';

/** Light load: two clients. */
const QUIET_CLIENTS = 2;

export interface Step {
  phase: 'quiet' | 'ramp' | 'peak' | 'ramp down' | 'quiet again';
  seconds: number;
  /** Transactions per second in all (pgbench -R); null: as fast as it goes. */
  rate: number | null;
  clients: number;
}

/** The cycle's steps: the ramps go geometrically between --quiet-rate and --ramp-top, one step every 20 s. */
export function dailySchedule(o: Pick<Options, 'timeScale' | 'quietRate' | 'rampTop' | 'clients'>): Step[] {
  const step = scaled(o, 20);
  const between = (k: number, of: number): number => Math.round(o.quietRate * (o.rampTop / o.quietRate) ** (k / of));
  return [
    { phase: 'quiet', seconds: scaled(o, 120), rate: o.quietRate, clients: QUIET_CLIENTS },
    ...[1, 2, 3, 4, 5, 6].map((k): Step => ({ phase: 'ramp', seconds: step, rate: between(k, 6), clients: o.clients })),
    { phase: 'peak', seconds: scaled(o, 120), rate: null, clients: o.clients },
    ...[3, 2, 1].map((k): Step => ({ phase: 'ramp down', seconds: step, rate: between(k, 4), clients: o.clients })),
    { phase: 'quiet again', seconds: scaled(o, 180), rate: o.quietRate, clients: QUIET_CLIENTS },
  ];
}

export async function runDaily(ctx: Context): Promise<void> {
  const { o, pgc } = ctx;
  const schedule = dailySchedule(o);
  for (const arm of o.arms.filter((a) => a === 'none' || WALRUS_ARMS.includes(a))) {
    const outputs: string[] = [];
    const run = await runArm(ctx, 'daily', arm, 'arm', START_MB, async (elapsed) => {
      const starts = new Map<Step['phase'], number>();
      for (const s of schedule) {
        if (!starts.has(s.phase)) {
          starts.set(s.phase, elapsed());
          progress(`daily / ${arm}: ${s.phase} at ${elapsed().toFixed(0)} s`);
        }
        outputs.push((await pgbenchRun(pgc, s.clients, s.seconds, s.rate ?? undefined)).output);
      }
      const phase = (p: Step['phase']): number => starts.get(p) ?? 0;
      const phases: DailyPhases = { rampStart: phase('ramp'), peakStart: phase('peak'), rampDownStart: phase('ramp down'), quietStart: phase('quiet again'), end: elapsed() };
      return phases;
    });
    progress(`daily / ${arm}: max_wal_size ${describeChanges(run.points)}`);
    const interval = arm === 'multiplicative' ? 30 : WALRUS_ARMS.includes(arm) ? o.sampleInterval : 0;
    recordArm(ctx, run, { shape: 'daily', arm, role: 'arm', label: armLabel(arm, o), startMb: START_MB, sampleIntervalSec: interval, load: { kind: 'daily', phases: run.result } }, outputs.join('\n'));
  }
}

export function reportDaily(records: readonly ArmRecord[], o: Options): ShapeReport {
  const rows: { arm: string; f: DailyFigures }[] = [];
  const goals: GoalResult[] = [];
  for (const r of records) {
    if (r.load.kind !== 'daily') continue;
    const checkpoints = relativeCheckpoints(parseCheckpointLog(r.checkpointLog), r.t0Ms);
    const f = { ...dailyFigures(r.points, r.load.phases, SIZING), forcedLogAfterPeak: walForcedTimes(checkpoints, r.load.phases.peakStart, r.load.phases.end).length };
    rows.push({ arm: r.label, f });
    if (WALRUS_ARMS.includes(r.arm)) goals.push(...dailyGoals(f).map((g) => ({ ...g, arm: r.arm, shape: 'daily' as const })));
  }
  const describe = dailySchedule(o).map((s) => `${s.phase} ${s.seconds} s ${s.rate === null ? 'full' : `-R ${s.rate}`}`).join(', ');
  const text = [
    `## Daily cycle: ${describe}; from 32 MB\n`,
    formatDailyTable(rows),
    '',
    'quiet need = the fewest whole 16 MB segments at which PostgreSQL forces no checkpoint for 30 s of the last quiet phase\'s WAL rate (figures.ts neededMb); back within: from then on to the end, need / 1.5 <= max_wal_size <= 1.5 x need.',
    '',
  ].join('\n');
  return { text, goals };
}

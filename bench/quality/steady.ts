/** The steady shape: pgbench for --duration from 32 MB, after an oracle arm preset to the need. */
import { setTimeout as sleep } from 'node:timers/promises';
import { calibratedNeedMb, formatSteadyTable, neededMb, steadyFigures, type SteadyFigures } from './figures.js';
import { steadyGoals, type GoalResult } from './goals.js';
import { observe } from './monitor.js';
import { armLabel, describeChanges, oracleShadow, progress, runArm, SIZING, START_MB, type Context, type ShapeReport } from './context.js';
import { scaled, WALRUS_ARMS, type Arm } from './options.js';
import { pgbenchRun } from './workload.js';

/** Far above any need here: the calibration run sees no WAL-forced checkpoint. */
const CALIBRATION_MB = 8192;

interface Calibration {
  /** max_wal_size (MB) that the load needs, the oracle's preset. */
  needMb: number;
  /** pgbench -R for the arms (transactions per second in all), or undefined to run them flat out. */
  rate: number | undefined;
}

/**
 * The need, known before the load: a short pgbench run at a size that
 * forces nothing, its rate over the second half (40 s and the last 20 s by
 * default). Its TPS sets the arms' throttle (--steady-rate): how fast an arm
 * runs on a shared 2-core machine varies by up to 18 % from arm to arm, and
 * WAL per transaction with it (full-page images are written once per page per
 * checkpoint cycle, so fewer transactions a cycle means more WAL each).
 */
async function calibrate(ctx: Context): Promise<Calibration> {
  const seconds = scaled(ctx.o, ctx.o.calibration);
  progress(`steady / calibration: pgbench -c ${ctx.o.clients} -T ${seconds} at max_wal_size ${CALIBRATION_MB} MB`);
  const run = await runArm(ctx, 'steady', 'none', CALIBRATION_MB, () => pgbenchRun(ctx.pgc, ctx.o.clients, seconds));
  const needMb = Math.ceil(calibratedNeedMb(run.points, seconds, seconds / 2, SIZING));
  const rate = ctx.o.steadyRate > 0 ? Math.max(1, Math.round(run.result.tps * ctx.o.steadyRate)) : undefined;
  progress(`steady / calibration: need ${needMb} MB (${run.result.tps.toFixed(0)} tps; arms ${rate === undefined ? 'flat out' : `throttled to ${rate} tps`})`);
  return { needMb, rate };
}

async function steadyArm(ctx: Context, arm: Arm, startMb: number, rate: number | undefined): Promise<SteadyFigures> {
  const { o, pgc, monitorClient } = ctx;
  const duration = scaled(o, o.duration);
  const run = await runArm(ctx, 'steady', arm, startMb, async (elapsed, monitor) => {
    progress(`steady / ${arm}: pgbench -c ${o.clients} -T ${duration}${rate === undefined ? '' : ` -R ${rate}`} from ${startMb} MB`);
    const load = pgbenchRun(pgc, o.clients, duration, rate);
    if (arm === 'oneshot') {
      // The issue-6 reference: the formula size set once from the first 10 s.
      await sleep(scaled(o, 10) * 1000);
      const first = monitor.points[0];
      if (!first) throw new Error('the monitor has no first point');
      const now = await observe(monitorClient, elapsed());
      const size = Math.ceil(neededMb((now.walBytes - first.walBytes) / now.t, SIZING));
      await pgc.query(`ALTER SYSTEM SET max_wal_size = '${size}MB'`);
      await pgc.query('SELECT pg_reload_conf()');
      progress(`steady / oneshot: set max_wal_size = ${size} MB at ${now.t.toFixed(1)} s`);
    }
    return load;
  });
  const interval = arm === 'multiplicative' ? SIZING.checkpointTimeoutSec : o.sampleInterval;
  const f = steadyFigures(run.points, duration, run.result.transactions, run.result.tps, SIZING, interval);
  progress(`steady / ${arm}: max_wal_size ${describeChanges(run.points)}`);
  progress(`steady / ${arm}: ${f.forced} forced, final ${f.finalMb} MB (${f.finalOverNeeded.toFixed(2)}x needed), ${f.tps.toFixed(0)} tps`);
  return f;
}

export async function runSteady(ctx: Context): Promise<ShapeReport> {
  const { o } = ctx;
  const { needMb, rate } = await calibrate(ctx);
  const oracle = await steadyArm(ctx, 'oracle', needMb, rate);
  const rows: { arm: string; f: SteadyFigures }[] = [{ arm: `${armLabel('oracle', o)}: ${needMb} MB`, f: oracle }];
  const goals: GoalResult[] = [];
  for (const arm of o.arms.filter((a) => a !== 'oracle')) {
    const f = await steadyArm(ctx, arm, START_MB, rate);
    rows.push({ arm: armLabel(arm, o), f });
    if (WALRUS_ARMS.includes(arm)) goals.push(...steadyGoals(f, oracle.walPerTxnBytes).map((g) => ({ ...g, arm, shape: 'steady' as const })));
  }
  const duration = scaled(o, o.duration);
  const calibration = scaled(o, o.calibration);
  const text = [
    `## Steady load: pgbench scale ${o.scale}, ${o.clients} clients, ${duration} s${rate === undefined ? '' : `, throttled to ${rate} tps (${o.steadyRate} x the calibration's)`}; start at max_wal_size 32 MB, checkpoint_timeout 30 s\n`,
    formatSteadyTable(rows, oracle.walPerTxnBytes),
    '',
    `oracle: max_wal_size preset to the need of a ${calibration} s calibration run (its last ${(calibration / 2).toFixed(0)} s); walrus (${oracleShadow(o)}) runs in dry run, deciding without changing it.`,
    `needed = the fewest whole 16 MB segments at which PostgreSQL forces no checkpoint for 30 s of the steady WAL rate (figures.ts neededMb), the steady rate measured over the last ${Math.min(60, duration)} s of each arm.`,
    'time to relief = load start to the last forced checkpoint. TPS varies about ±8% between runs on shared machines.',
    '',
  ].join('\n');
  return { text, goals };
}

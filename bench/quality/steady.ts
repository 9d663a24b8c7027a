/**
 * The steady shapes: one load for --duration from 32 MB, after a calibration
 * run and an oracle arm preset to the need of that same load. `steady` is
 * pgbench's TPC-B-like transaction; `oltp_write_only` and `oltp_read_write`
 * are sysbench's own (loads we did not write). Flat out by default.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { largestCycleRate, relativeCheckpoints, walForcedTimes } from './cycles.js';
import { parseCheckpointLog } from './checkpoint-log.js';
import { calibratedNeedMb, formatSteadyTable, neededMb, steadyFigures, type SteadyFigures } from './figures.js';
import { steadyGoals, type GoalResult } from './goals.js';
import { observe } from './monitor.js';
import { armLabel, describeChanges, oracleShadow, progress, recordArm, runArm, SIZING, START_MB, type Context, type ShapeReport } from './context.js';
import { scaled, WALRUS_ARMS, type Arm, type Options, type SteadyShape } from './options.js';
import type { ArmRecord } from './results.js';
import { sysbenchRun } from './sysbench.js';
import { pgbenchRun, type PgbenchResult } from './workload.js';

/** Far above any need here: the calibration run sees no WAL-forced checkpoint. */
const CALIBRATION_MB = 8192;
/** How many times an oracle that was forced is run again, larger. */
const ORACLE_RERUNS = 2;

interface Driver {
  name: string;
  describe(seconds: number, rate: number | undefined): string;
  run(seconds: number, rate: number | undefined): Promise<PgbenchResult>;
}

function driver(ctx: Context, shape: SteadyShape): Driver {
  const { o, pgc } = ctx;
  if (shape === 'steady') {
    return {
      name: 'pgbench',
      describe: (seconds, rate) => `pgbench -c ${o.clients} -T ${seconds}${rate === undefined ? '' : ` -R ${rate}`}`,
      run: (seconds, rate) => pgbenchRun(pgc, o.clients, seconds, rate),
    };
  }
  const tables = { tables: o.sysbenchTables, tableSize: o.sysbenchTableSize };
  return {
    name: `sysbench ${shape}`,
    describe: (seconds, rate) => `sysbench ${shape} --threads=${o.clients} --time=${seconds}${rate === undefined ? '' : ` --rate=${rate}`}`,
    run: (seconds, rate) => sysbenchRun(pgc, shape, tables, o.clients, seconds, rate),
  };
}

/** The need of a run at a size that forced nothing: its largest whole cycle, or (no whole cycle) its rate over the second half. */
export function needOfRun(r: ArmRecord, durationSec: number): number {
  const checkpoints = relativeCheckpoints(parseCheckpointLog(r.checkpointLog), r.t0Ms);
  // From just before t = 0: the arm's own CHECKPOINT starts a moment before the clock does.
  const rate = largestCycleRate(checkpoints, -2, durationSec, SIZING.checkpointTimeoutSec / 2);
  return Math.ceil(rate === null ? calibratedNeedMb(r.points, durationSec, durationSec / 2, SIZING) : neededMb(rate, SIZING));
}

async function steadyArm(ctx: Context, shape: SteadyShape, d: Driver, arm: Arm, role: 'calibration' | 'oracle' | 'arm', startMb: number, rate: number | undefined, note?: string): Promise<ArmRecord> {
  const { o, pgc, monitorClient } = ctx;
  const duration = scaled(o, role === 'calibration' ? o.calibration : o.duration);
  const run = await runArm(ctx, shape, arm, role, startMb, async (elapsed, monitor) => {
    progress(`${shape} / ${role === 'arm' ? arm : role}: ${d.describe(duration, rate)} from ${startMb} MB`);
    const load = d.run(duration, rate);
    if (arm === 'oneshot') {
      // The issue-6 reference: the formula size set once from the first 10 s.
      await sleep(scaled(o, 10) * 1000);
      const first = monitor.points[0];
      if (!first) throw new Error('the monitor has no first point');
      const now = await observe(monitorClient, elapsed());
      const size = Math.ceil(neededMb((now.walBytes - first.walBytes) / now.t, SIZING));
      await pgc.query(`ALTER SYSTEM SET max_wal_size = '${size}MB'`);
      await pgc.query('SELECT pg_reload_conf()');
      progress(`${shape} / oneshot: set max_wal_size = ${size} MB at ${now.t.toFixed(1)} s`);
    }
    return load;
  });
  const interval = arm === 'multiplicative' ? SIZING.checkpointTimeoutSec : WALRUS_ARMS.includes(arm) || arm === 'oracle' ? o.sampleInterval : 0;
  const r = recordArm(
    ctx,
    run,
    {
      shape,
      arm,
      role,
      label: role === 'calibration' ? `calibration (${CALIBRATION_MB} MB, no walrus)` : armLabel(arm, o),
      startMb,
      sampleIntervalSec: interval,
      load: { kind: 'steady', driver: d.name, durationSec: duration, rate: rate ?? null, transactions: run.result.transactions, tps: run.result.tps },
      ...(note === undefined ? {} : { note }),
    },
    run.result.output,
  );
  const checkpoints = relativeCheckpoints(parseCheckpointLog(r.checkpointLog), r.t0Ms);
  progress(`${shape} / ${role === 'arm' ? arm : role}: max_wal_size ${describeChanges(r.points)}; ${walForcedTimes(checkpoints, 0, duration).length} forced (log), ${run.result.tps.toFixed(0)} tps`);
  return r;
}

export async function runSteady(ctx: Context, shape: SteadyShape): Promise<void> {
  const { o } = ctx;
  const d = driver(ctx, shape);
  const calibration = await steadyArm(ctx, shape, d, 'none', 'calibration', CALIBRATION_MB, undefined);
  if (calibration.load.kind !== 'steady') throw new Error('calibration: not a steady record');
  const rate = o.steadyRate > 0 ? Math.max(1, Math.round(calibration.load.tps * o.steadyRate)) : undefined;
  let preset = needOfRun(calibration, scaled(o, o.calibration));
  progress(`${shape} / calibration: need ${preset} MB (${calibration.load.tps.toFixed(0)} tps; arms ${rate === undefined ? 'flat out' : `throttled to ${rate} tps`})`);
  let note: string | undefined;
  for (let attempt = 0; ; attempt++) {
    const oracle = await steadyArm(ctx, shape, d, 'oracle', 'oracle', preset, rate, note);
    const duration = scaled(o, o.duration);
    const forced = walForcedTimes(relativeCheckpoints(parseCheckpointLog(oracle.checkpointLog), oracle.t0Ms), 0, duration).length;
    if (forced === 0 || attempt >= ORACLE_RERUNS) break;
    // An oracle that is forced is no oracle: run it again at the need of its own load (at least a quarter more).
    const next = Math.max(needOfRun(oracle, duration), Math.ceil((preset * 1.25) / 16) * 16);
    note = `the oracle at ${preset} MB was forced ${forced} time(s): run again at ${next} MB`;
    progress(`${shape} / oracle: ${note}`);
    preset = next;
  }
  for (const arm of o.arms.filter((a) => a !== 'oracle')) await steadyArm(ctx, shape, d, arm, 'arm', START_MB, rate);
}

function figuresOf(r: ArmRecord): SteadyFigures {
  if (r.load.kind !== 'steady') throw new Error(`${r.dir}: not a steady record`);
  const checkpoints = relativeCheckpoints(parseCheckpointLog(r.checkpointLog), r.t0Ms);
  return steadyFigures(r.points, checkpoints, r.load.durationSec, r.load.tps, SIZING, r.sampleIntervalSec || 1);
}

/** The steady shape's tables and goals, from its records (calibration, oracle attempts, arms) in the order they ran. */
export function reportSteady(shape: SteadyShape, records: readonly ArmRecord[], o: Options): ShapeReport {
  const calibration = records.find((r) => r.role === 'calibration');
  const oracles = records.filter((r) => r.role === 'oracle');
  const oracle = oracles.at(-1);
  const arms = records.filter((r) => r.role === 'arm');
  const rows: { arm: string; f: SteadyFigures }[] = [];
  const goals: GoalResult[] = [];
  if (calibration) rows.push({ arm: calibration.label, f: figuresOf(calibration) });
  const oracleF = oracle ? figuresOf(oracle) : null;
  for (const r of oracles) rows.push({ arm: `${r.label}: ${r.startMb} MB${r === oracle ? '' : ' (forced: not used)'}`, f: figuresOf(r) });
  for (const r of arms) {
    const f = figuresOf(r);
    rows.push({ arm: r.label, f });
    const usable = oracleF !== null && oracleF.forced === 0 ? oracleF : null;
    if (WALRUS_ARMS.includes(r.arm)) goals.push(...steadyGoals(f, usable).map((g) => ({ ...g, arm: r.arm, shape })));
  }
  const first = records[0];
  const load = first?.load.kind === 'steady' ? first.load : null;
  const armLoad = arms[0]?.load.kind === 'steady' ? arms[0].load : oracle?.load.kind === 'steady' ? oracle.load : null;
  const what = shape === 'steady' ? `pgbench scale ${o.scale}` : `sysbench ${shape}, ${o.sysbenchTables} tables of ${o.sysbenchTableSize} rows`;
  const throttle = armLoad?.rate ? `, throttled to ${armLoad.rate} tps (${o.steadyRate} x the calibration's)` : ', flat out';
  const text = [
    `## Steady load (${shape}): ${what}, ${o.clients} clients, ${armLoad?.durationSec ?? '?'} s${throttle}; start at max_wal_size 32 MB, checkpoint_timeout 30 s\n`,
    formatSteadyTable(rows, oracleF?.walPerTxnBytes ?? null),
    '',
    `oracle: max_wal_size preset to the need of the largest whole checkpoint cycle of a ${load?.durationSec ?? '?'} s calibration run of the same load at ${CALIBRATION_MB} MB; walrus (${oracleShadow(o)}) runs beside it in dry run.`,
    ...oracles.filter((r) => r.note !== undefined).map((r) => `${r.note}.`),
    oracleF !== null && oracleF.forced > 0 ? `the oracle was still forced ${oracleF.forced} time(s): no WAL-per-transaction goal is judged against it.` : '',
    'whole cycles: WAL from the redo LSN of the CHECKPOINT at t = 0 to that of the last checkpoint started during the load (server log), transactions and full-page images (pg_stat_wal.wal_fpi) over the same span; forced = `checkpoint starting: wal` in the server log, requested = the counter (which also counts CHECKPOINT commands).',
    `needed = the fewest whole 16 MB segments at which PostgreSQL forces no checkpoint for 30 s of the steady WAL rate (figures.ts neededMb), measured over the last ${Math.min(60, armLoad?.durationSec ?? 60)} s of each arm. time to relief = load start to the last forced checkpoint.`,
    '',
  ].filter((l, i, all) => l !== '' || all[i - 1] !== '').join('\n');
  return { text, goals };
}

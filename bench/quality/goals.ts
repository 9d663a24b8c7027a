import { formatTable } from '@walrus/runtime';
import type { BurstFigures, DailyFigures, StormFigures, SteadyFigures } from './figures.js';
import type { MaintenanceFigures } from './maintenance-figures.js';
import { withinOf, type RecurringBatchFigures } from './recurring-figures.js';
import type { Shape } from './options.js';

/** One goal (issues 13 and 25), judged on one walrus arm's figures. */
export interface GoalResult {
  arm: string;
  shape: Shape;
  figure: string;
  goal: string;
  measured: string;
  pass: boolean;
  /** The figure cannot be right (e.g. less WAL per transaction than an oracle that was never forced): neither met nor failed. */
  problem?: string;
}

/** Below this, an arm "wrote less WAL per transaction than the oracle": something in the measurement is off, not walrus better. */
export const RATIO_FLOOR = 0.98;
export const RATIO_CEILING = 1.03;

type Row = Omit<GoalResult, 'arm' | 'shape'>;

/** Steady: forced checkpoints, relief, WAL per transaction against the oracle's, final size over the need. */
/**
 * `oracle`: the oracle's WAL per transaction and TPS, or null when there is
 * no usable oracle. Flat out, an arm that runs more transactions per cycle
 * writes fewer full-page images per transaction: the measured ratio names
 * the TPS ratio and the FPI ratio beside it, so that a reader sees that part.
 */
export function steadyGoals(f: SteadyFigures, oracle: { walPerTxnBytes: number; tps: number; fpiPerTxn: number } | null): Row[] {
  const rows: Row[] = [
    {
      figure: 'forced checkpoints (log: wal)',
      goal: '<= 3, all in the first sample interval',
      measured: `${f.forced}${f.forced === 0 ? '' : f.firstIntervalOnly ? ', all in the first interval' : ', not all in the first interval'}`,
      pass: f.forced <= 3 && f.firstIntervalOnly,
    },
    {
      figure: 'time to relief',
      goal: '<= 3 s',
      measured: f.forced === 0 ? 'none forced' : `${f.reliefSec.toFixed(1)} s`,
      pass: f.reliefSec <= 3,
    },
  ];
  if (oracle !== null) {
    const ratio = f.walPerTxnBytes / oracle.walPerTxnBytes;
    const figure = 'WAL per transaction vs the oracle (whole cycles)';
    const goal = `${RATIO_FLOOR}x .. ${RATIO_CEILING}x`;
    const measured = `${ratio.toFixed(3)}x (TPS ${(f.tps / oracle.tps).toFixed(2)}x, FPI/txn ${(f.fpiPerTxn / oracle.fpiPerTxn).toFixed(2)}x the oracle's)`;
    if (!Number.isFinite(ratio)) rows.push({ figure, goal, measured: 'no whole cycle', pass: false, problem: 'no whole checkpoint cycle in the load' });
    else if (ratio < RATIO_FLOOR) {
      rows.push({ figure, goal, measured, pass: false, problem: `below ${RATIO_FLOOR}x: less WAL than an arm never forced is a measurement problem, not a success` });
    } else rows.push({ figure, goal, measured, pass: ratio <= RATIO_CEILING });
  }
  rows.push({ figure: 'final size / needed', goal: '<= 1.3x', measured: `${f.finalOverNeeded.toFixed(2)}x`, pass: f.finalOverNeeded <= 1.3 });
  return rows;
}

export function burstGoals(f: BurstFigures): Row[] {
  return [
    { figure: 'forced checkpoints in bursts 2+', goal: '0', measured: String(f.forcedInLaterBursts), pass: f.forcedInLaterBursts === 0 },
    { figure: 'size changes over the bursts', goal: '<= 4', measured: String(f.changesOverBursts), pass: f.changesOverBursts <= 4 },
  ];
}

export function stormGoals(f: StormFigures): Row[] {
  return [{ figure: 'final size / need of the WAL written', goal: '<= 1.5x', measured: `${f.finalOverNeed.toFixed(2)}x`, pass: f.finalOverNeed <= 1.5 }];
}

export function dailyGoals(f: DailyFigures, limitSec = 180): Row[] {
  return [
    { figure: 'forced checkpoints from the first peak on', goal: '0', measured: String(f.forcedAfterPeak), pass: f.forcedAfterPeak === 0 },
    {
      figure: 'back within 1.5x of the quiet need',
      goal: `<= ${limitSec} s after quiet began`,
      measured: f.backWithinSec === null ? 'not by the end' : `${f.backWithinSec.toFixed(0)} s`,
      pass: f.backWithinSec !== null && f.backWithinSec <= limitSec,
    },
  ];
}

/** Recurring: from the second batch on (the memory has seen one), none forced, the size ready at its start, and back near the quiet need before the next. */
export function recurringGoals(batches: readonly RecurringBatchFigures[], settleSec: number): Row[] {
  return batches
    .filter((b) => b.n >= 2)
    .flatMap((b): Row[] => [
      { figure: `batch ${b.n}: forced checkpoints during it (log: wal)`, goal: '0', measured: String(b.forced), pass: b.forced === 0 },
      { figure: `batch ${b.n}: max_wal_size at its start / its need`, goal: '>= 1x', measured: `${b.atStartMb} / ${b.batchNeedMb} MB`, pass: b.atStartMb >= b.batchNeedMb },
      {
        figure: `batch ${b.n}: max_wal_size ${settleSec} s before the next batch (or at the end) / quiet need`,
        goal: 'within 1.5x',
        measured: `${b.atCheckMb} / ${b.quietNeedMb} MB`,
        pass: withinOf(b.atCheckMb, b.quietNeedMb),
      },
    ]);
}

/** Maintenance (CREATE INDEX, VACUUM (FREEZE), COPY): relief within the first interval, a size that fits, and back to the quiet need after. */
export function maintenanceGoals(f: MaintenanceFigures, afterSec: number): Row[] {
  const after = afterSec === 600 ? '10 min' : `${afterSec} s (--after; the goal says 10 min)`;
  return [
    {
      figure: 'forced checkpoints after the first sample interval of the load (log: wal)',
      goal: '0',
      measured: String(f.forcedAfterFirstInterval),
      pass: f.forcedAfterFirstInterval === 0,
    },
    {
      figure: 'size for the load (the largest to 30 s after it) / need of the load',
      goal: '<= 1.3x',
      measured: `${f.finalOverNeed.toFixed(2)}x`,
      pass: f.finalOverNeed <= 1.3,
    },
    {
      figure: `size ${after} after the load / quiet need`,
      goal: 'within 1.5x',
      measured: `${f.afterOverQuietNeed.toFixed(2)}x`,
      pass: f.afterOverQuietNeed <= 1.5 && f.afterOverQuietNeed >= 1 / 1.5,
    },
  ];
}

export function verdict(r: GoalResult): string {
  return r.problem !== undefined ? `MEASUREMENT PROBLEM: ${r.problem}` : r.pass ? 'PASS' : 'FAIL';
}

export function formatGoals(results: readonly GoalResult[]): string {
  const header = ['arm', 'workload', 'figure', 'goal', 'measured', ''];
  const body = results.map((r) => [r.arm, r.shape, r.figure, r.goal, r.measured, verdict(r)]);
  return formatTable(header, body, { style: 'markdown' });
}

import { formatTable } from '@walrus/runtime';
import type { BurstFigures, DailyFigures, StormFigures, SteadyFigures } from './figures.js';

/** One goal of issue 13's table, judged on one walrus arm's figures. */
export interface GoalResult {
  arm: string;
  shape: 'steady' | 'bursts' | 'storm' | 'daily';
  figure: string;
  goal: string;
  measured: string;
  pass: boolean;
}

type Row = Omit<GoalResult, 'arm' | 'shape'>;

/** Steady: forced checkpoints, relief, WAL per transaction against the oracle's, final size over the need. */
export function steadyGoals(f: SteadyFigures, oracleWalPerTxn: number | null): Row[] {
  const rows: Row[] = [
    {
      figure: 'forced checkpoints',
      goal: '<= 3, all in the first sample interval',
      measured: `${f.forced}${f.forced === 0 ? '' : f.firstIntervalOnly ? ', all in the first interval' : ', not all in the first interval'}`,
      pass: f.forced <= 3 && f.firstIntervalOnly,
    },
    {
      figure: 'time to relief',
      goal: '<= 3 s',
      measured: f.forced === 0 ? 'none forced' : `${f.reliefSec.toFixed(0)} s`,
      pass: f.reliefSec <= 3,
    },
  ];
  if (oracleWalPerTxn !== null) {
    const ratio = f.walPerTxnBytes / oracleWalPerTxn;
    rows.push({ figure: 'WAL per transaction vs the oracle', goal: '<= 1.05x', measured: `${ratio.toFixed(3)}x`, pass: ratio <= 1.05 });
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

export function formatGoals(results: readonly GoalResult[]): string {
  const header = ['arm', 'workload', 'figure', 'goal', 'measured', ''];
  const body = results.map((r) => [r.arm, r.shape, r.figure, r.goal, r.measured, r.pass ? 'PASS' : 'FAIL']);
  return formatTable(header, body, { style: 'markdown' });
}

import { formatTable } from '@walrus/runtime';

/** What one arm of bench:disk observed, and the figures made of it (pure, so they can be checked by eye). */

export interface DiskPoint {
  /** Seconds since the load started. */
  t: number;
  maxWalSizeMb: number;
  /** WAL the stuck slot holds (current LSN − restart_lsn), MB. */
  slotMb: number;
  /** What pg_wal holds, MB. */
  pgWalMb: number;
}

export interface DecisionSeen {
  action: string;
  oldMb: number;
  newMb: number;
  /** WAL the slots held at the decision's sample, MB (rounded up, as the engine counts it). */
  heldMb: number;
  /** The WAL disk budget shaped it (a capped growth or a shrink for the disk). */
  byDisk: boolean;
}

export interface DiskFigures {
  budgetMb: number;
  /** Largest max_wal_size + slot seen at any instant. */
  peakSumMb: number;
  /** The same, only at instants when max_wal_size was above walrus.min_size (walrus had something left to give back). */
  peakSumAboveFloorMb: number;
  /** Largest new size + held WAL of any executable growth or shrink decision, minus the budget (≤ 0: every decision fit). */
  worstDecisionOverMb: number | null;
  /** Seconds during which max_wal_size + slot passed the budget while max_wal_size was above the floor, and the longest such stretch. */
  overAboveFloorSec: number;
  longestOverAboveFloorSec: number;
  peakPgWalMb: number;
  finalMaxWalSizeMb: number;
  finalSlotMb: number;
  decisions: Record<string, number>;
  byDisk: number;
}

const EXECUTABLE = new Set(['increase', 'capped', 'decrease']);

export function diskFigures(points: DiskPoint[], decisions: DecisionSeen[], budgetMb: number, minMb: number): DiskFigures {
  let peakSum = 0;
  let peakAbove = 0;
  let over = 0;
  let longest = 0;
  let stretch = 0;
  let before: DiskPoint | undefined;
  for (const p of points) {
    const sum = p.maxWalSizeMb + p.slotMb;
    peakSum = Math.max(peakSum, sum);
    const dt = before === undefined ? 0 : p.t - before.t;
    before = p;
    if (p.maxWalSizeMb > minMb) {
      peakAbove = Math.max(peakAbove, sum);
      if (sum > budgetMb) {
        over += dt;
        stretch += dt;
        longest = Math.max(longest, stretch);
        continue;
      }
    }
    stretch = 0;
  }
  const executable = decisions.filter((d) => EXECUTABLE.has(d.action));
  const counts: Record<string, number> = {};
  for (const d of decisions) counts[d.action] = (counts[d.action] ?? 0) + 1;
  const last = points.at(-1);
  return {
    budgetMb,
    peakSumMb: peakSum,
    peakSumAboveFloorMb: peakAbove,
    worstDecisionOverMb: executable.length === 0 ? null : Math.max(...executable.map((d) => d.newMb + d.heldMb - budgetMb)),
    overAboveFloorSec: over,
    longestOverAboveFloorSec: longest,
    peakPgWalMb: Math.max(0, ...points.map((p) => p.pgWalMb)),
    finalMaxWalSizeMb: last?.maxWalSizeMb ?? 0,
    finalSlotMb: last?.slotMb ?? 0,
    decisions: counts,
    byDisk: decisions.filter((d) => d.byDisk && EXECUTABLE.has(d.action)).length,
  };
}

export function formatDiskTable(rows: { arm: string; f: DiskFigures; tps: number }[]): string {
  const header = [
    'arm',
    'budget',
    'peak max_wal_size + slot',
    '… above the floor',
    'worst decision vs budget',
    'over budget above the floor',
    'peak pg_wal',
    'final max_wal_size',
    'final slot',
    'decisions (by the budget)',
    'TPS',
  ];
  const body = rows.map(({ arm, f, tps }) => [
    arm,
    `${f.budgetMb} MB`,
    `${Math.round(f.peakSumMb)} MB`,
    `${Math.round(f.peakSumAboveFloorMb)} MB`,
    f.worstDecisionOverMb === null ? '-' : `${f.worstDecisionOverMb > 0 ? '+' : ''}${Math.round(f.worstDecisionOverMb)} MB`,
    `${f.overAboveFloorSec.toFixed(1)} s (longest ${f.longestOverAboveFloorSec.toFixed(1)} s)`,
    `${Math.round(f.peakPgWalMb)} MB`,
    `${f.finalMaxWalSizeMb} MB`,
    `${Math.round(f.finalSlotMb)} MB`,
    `${Object.entries(f.decisions)
      .map(([a, n]) => `${n} ${a}`)
      .join(', ') || 'none'} (${f.byDisk})`,
    tps.toFixed(0),
  ]);
  return formatTable(header, body, { style: 'markdown' });
}

/** The bound arm (walrus.bound_slots): when the stuck slot was warned about, invalidated and reported, and the peak of pg_wal. */
export interface BoundFigures {
  warnedAtSec: number | null;
  graceEndsAtSec: number | null;
  invalidatedAtSec: number | null;
  lostAlertAtSec: number | null;
  /** The max_slot_wal_keep_size of each decision that set one, in order. */
  keepSizesMb: number[];
  peakPgWalMb: number;
  budgetMb: number;
  graceSec: number;
}

const sec = (n: number | null): string => (n === null ? 'never' : `${n.toFixed(1)} s`);

export function formatBoundTable(rows: BoundFigures[]): string {
  const header = ['budget', 'peak pg_wal', 'peak pg_wal vs budget', 'warned', 'grace ends', 'invalidated', 'warning → invalidation', 'slot_lost', 'keep sizes set'];
  const body = rows.map((b) => [
    `${b.budgetMb} MB`,
    `${Math.round(b.peakPgWalMb)} MB`,
    `${b.peakPgWalMb - b.budgetMb > 0 ? '+' : ''}${Math.round(b.peakPgWalMb - b.budgetMb)} MB`,
    sec(b.warnedAtSec),
    sec(b.graceEndsAtSec),
    sec(b.invalidatedAtSec),
    b.warnedAtSec === null || b.invalidatedAtSec === null ? '-' : `${(b.invalidatedAtSec - b.warnedAtSec).toFixed(1)} s`,
    sec(b.lostAlertAtSec),
    b.keepSizesMb.map((k) => `${k}`).join(' → ') + ' MB',
  ]);
  return formatTable(header, body, { style: 'markdown' });
}

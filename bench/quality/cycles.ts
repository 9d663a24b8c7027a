/**
 * WAL per transaction over whole checkpoint cycles. Right after each
 * checkpoint's redo point every page is written whole once more (full-page
 * images), so WAL per transaction depends on where a window starts and ends
 * within the cycles: a window that ends on a full-page-image burst writes
 * more per transaction than one that ends before it. Every arm therefore
 * starts with a CHECKPOINT at t = 0, and its window runs from that
 * checkpoint's redo LSN to the redo LSN of the last checkpoint that started
 * during the load: a whole number of cycles, begun the same way in every arm.
 */
import type { CheckpointCause, CheckpointEvent } from './checkpoint-log.js';
import type { Point } from './monitor.js';

/** A checkpoint in a run's own time: seconds since t = 0. */
export interface RunCheckpoint {
  t: number;
  cause: CheckpointCause;
  redoLsnBytes: number | null;
}

export function relativeCheckpoints(events: readonly CheckpointEvent[], t0Ms: number): RunCheckpoint[] {
  return events.map((e) => ({ t: (e.startMs - t0Ms) / 1000, cause: e.cause, redoLsnBytes: e.redoLsnBytes }));
}

/** Times of the WAL-forced checkpoints (`checkpoint starting: wal`) that started between `from` and `to`. */
export function walForcedTimes(checkpoints: readonly RunCheckpoint[], from: number, to: number): number[] {
  return checkpoints.filter((c) => c.cause === 'wal' && c.t >= from && c.t <= to).map((c) => c.t);
}

/** A counter of the points (xacts, fpi) at time t, linear between the two points around it. */
export function interpolate(points: readonly Point[], t: number, key: 'xacts' | 'fpi' | 'walBytes'): number {
  const first = points[0];
  if (!first) throw new Error('no points');
  if (t <= first.t) return first[key];
  for (let i = 1; i < points.length; i++) {
    const b = points[i];
    const a = points[i - 1];
    if (!a || !b) continue;
    if (t <= b.t) return b.t === a.t ? b[key] : a[key] + ((b[key] - a[key]) * (t - a.t)) / (b.t - a.t);
  }
  return (points.at(-1) ?? first)[key];
}

export interface CycleWindow {
  /** Start times of the window's first and last checkpoint (s since t = 0). */
  fromT: number;
  toT: number;
  /** Whole checkpoint cycles in the window (checkpoints started in [from, to)). */
  cycles: number;
  /** WAL between the two redo LSNs: exact. */
  walBytes: number;
  /** Transactions and full-page images in the window (the monitor's counters at the two times). */
  xacts: number;
  fpi: number;
  walPerTxnBytes: number;
  fpiPerTxn: number;
  tps: number;
}

/**
 * The window of whole cycles: from the arm's own CHECKPOINT (the last one
 * started at or before t = 0: the clock starts once it is done, so a
 * checkpoint the load forces in its first moments comes after it) to the
 * last checkpoint started before `loadEnd` whose redo LSN the excerpt holds.
 * Null when the load held no whole cycle.
 */
export function wholeCycles(points: readonly Point[], checkpoints: readonly RunCheckpoint[], loadEnd: number): CycleWindow | null {
  const known = checkpoints.filter((c) => c.redoLsnBytes !== null);
  const first = known.filter((c) => c.t <= 0).at(-1);
  const last = known.filter((c) => c.t < loadEnd).at(-1);
  if (!first || !last || last.t <= first.t || first.redoLsnBytes === null || last.redoLsnBytes === null) return null;
  const xacts = interpolate(points, last.t, 'xacts') - interpolate(points, first.t, 'xacts');
  const fpi = interpolate(points, last.t, 'fpi') - interpolate(points, first.t, 'fpi');
  const walBytes = last.redoLsnBytes - first.redoLsnBytes;
  return {
    fromT: first.t,
    toT: last.t,
    cycles: checkpoints.filter((c) => c.t >= first.t && c.t < last.t).length,
    walBytes,
    xacts,
    fpi,
    walPerTxnBytes: xacts > 0 ? walBytes / xacts : Number.NaN,
    fpiPerTxn: xacts > 0 ? fpi / xacts : Number.NaN,
    tps: xacts / (last.t - first.t),
  };
}

/**
 * The largest WAL of one cycle between consecutive checkpoints of the window,
 * per checkpoint_timeout: what max_wal_size must hold for none of them to be
 * forced. Cycles shorter than `minSec` are left out: a cycle cut short by
 * a forced checkpoint in the load's first second is nearly all full-page
 * images, and its rate says nothing of a whole cycle.
 */
export function largestCycleRate(checkpoints: readonly RunCheckpoint[], fromT: number, toT: number, minSec: number): number | null {
  const inWindow = checkpoints.filter((c) => c.redoLsnBytes !== null && c.t >= fromT && c.t <= toT);
  let best: number | null = null;
  for (let i = 1; i < inWindow.length; i++) {
    const a = inWindow[i - 1];
    const b = inWindow[i];
    if (!a || !b || a.redoLsnBytes === null || b.redoLsnBytes === null || b.t - a.t < minSec) continue;
    const rate = (b.redoLsnBytes - a.redoLsnBytes) / (b.t - a.t);
    best = best === null ? rate : Math.max(best, rate);
  }
  return best;
}

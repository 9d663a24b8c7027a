import { formatTable } from '@walrus/runtime';
import type { Point } from './monitor.js';

const MB = 1024 * 1024;

export interface SizingSettings {
  checkpointTimeoutSec: number;
  completionTarget: number;
  segmentBytes: number;
}

/** The formula: (1 + completion_target) x (R x checkpoint_timeout + one segment), in MB. */
export function neededMb(rateBytesPerSec: number, s: SizingSettings): number {
  return ((1 + s.completionTarget) * (rateBytesPerSec * s.checkpointTimeoutSec + s.segmentBytes)) / MB;
}

/** The point closest to t. */
function at(points: readonly Point[], t: number): Point {
  let best = points[0];
  for (const p of points) if (best === undefined || Math.abs(p.t - t) < Math.abs(best.t - t)) best = p;
  if (!best) throw new Error('no points');
  return best;
}

/** Each point with the one before it. */
function neighbours<T>(points: readonly T[]): Array<[T, T]> {
  return points.slice(1).flatMap((b, i) => {
    const a = points[i];
    if (a === undefined) return [];
    const pair: [T, T] = [a, b];
    return [pair];
  });
}

/** Times (s since load start) at which the requested-checkpoint counter moved, once per checkpoint. */
export function forcedTimes(points: readonly Point[], from: number, to: number): number[] {
  const times: number[] = [];
  for (const [a, b] of neighbours(points)) {
    if (b.t < from || b.t > to + 1) continue;
    for (let k = a.requested; k < b.requested; k++) times.push(b.t);
  }
  return times;
}

/** Changes of max_wal_size seen, with direction. */
export function sizeChanges(points: readonly Point[]): { t: number; fromMb: number; toMb: number }[] {
  const changes: { t: number; fromMb: number; toMb: number }[] = [];
  for (const [a, b] of neighbours(points)) {
    if (a.maxWalSizeMb !== b.maxWalSizeMb) changes.push({ t: b.t, fromMb: a.maxWalSizeMb, toMb: b.maxWalSizeMb });
  }
  return changes;
}

export interface SteadyFigures {
  forced: number;
  /** Seconds from load start to the last forced checkpoint; 0 when there was none. */
  reliefSec: number;
  walPerTxnBytes: number;
  steadyRateBytesPerSec: number;
  neededMb: number;
  finalMb: number;
  finalOverNeeded: number;
  changes: number;
  tps: number;
}

/**
 * The steady WAL rate is measured over the last two whole checkpoint
 * intervals of the load, when the arm has settled: the rate that arm's own
 * final size has to carry.
 */
export function steadyFigures(points: readonly Point[], durationSec: number, transactions: number, tps: number, s: SizingSettings): SteadyFigures {
  const start = at(points, 0);
  const end = at(points, durationSec);
  const windowSec = Math.min(2 * s.checkpointTimeoutSec, durationSec);
  const windowStart = at(points, durationSec - windowSec);
  const forced = forcedTimes(points, 0, durationSec);
  const rate = (end.walBytes - windowStart.walBytes) / (end.t - windowStart.t);
  const needed = neededMb(rate, s);
  return {
    forced: forced.length,
    reliefSec: forced.at(-1) ?? 0,
    walPerTxnBytes: (end.walBytes - start.walBytes) / transactions,
    steadyRateBytesPerSec: rate,
    neededMb: needed,
    finalMb: end.maxWalSizeMb,
    finalOverNeeded: end.maxWalSizeMb / needed,
    changes: sizeChanges(points.filter((p) => p.t >= -1 && p.t <= durationSec + 1)).length,
    tps,
  };
}

export function formatSteadyTable(rows: readonly { arm: string; f: SteadyFigures }[]): string {
  const header = ['arm', 'forced ckpts', 'time to relief', 'WAL/txn', 'steady WAL rate', 'needed', 'final max_wal_size', 'final/needed', 'changes', 'TPS'];
  const body = rows.map(({ arm, f }) => [
    arm,
    String(f.forced),
    f.forced === 0 ? 'none forced' : `${f.reliefSec.toFixed(0)} s`,
    `${(f.walPerTxnBytes / 1024).toFixed(2)} kB`,
    `${(f.steadyRateBytesPerSec / MB).toFixed(2)} MB/s`,
    `${f.neededMb.toFixed(0)} MB`,
    `${f.finalMb} MB`,
    `${f.finalOverNeeded.toFixed(2)}x`,
    String(f.changes),
    f.tps.toFixed(0),
  ]);
  return markdownTable(header, body);
}

export interface BurstFigures {
  forced: number;
  /** Forced checkpoints after the first 15 s of each burst. */
  forcedLate: number;
  grows: number;
  shrinks: number;
  /** max_wal_size at the end of each burst and of each quiet period. */
  atBurstEnds: number[];
  atQuietEnds: number[];
}

export function burstFigures(points: readonly Point[], bursts: readonly { start: number; end: number; quietEnd: number }[]): BurstFigures {
  const changes = sizeChanges(points);
  let forced = 0;
  let forcedLate = 0;
  for (const b of bursts) {
    forced += forcedTimes(points, b.start, b.quietEnd).length;
    forcedLate += forcedTimes(points, b.start + 15, b.quietEnd).length;
  }
  return {
    forced,
    forcedLate,
    grows: changes.filter((c) => c.toMb > c.fromMb).length,
    shrinks: changes.filter((c) => c.toMb < c.fromMb).length,
    atBurstEnds: bursts.map((b) => at(points, b.end).maxWalSizeMb),
    atQuietEnds: bursts.map((b) => at(points, b.quietEnd).maxWalSizeMb),
  };
}

export function formatBurstTable(rows: readonly { arm: string; f: BurstFigures }[]): string {
  const header = ['arm', 'forced ckpts', 'forced after 15 s of a burst', 'grows', 'shrinks', 'MB at burst ends', 'MB at quiet ends'];
  const body = rows.map(({ arm, f }) => [
    arm,
    String(f.forced),
    String(f.forcedLate),
    String(f.grows),
    String(f.shrinks),
    f.atBurstEnds.join(' / '),
    f.atQuietEnds.join(' / '),
  ]);
  return markdownTable(header, body);
}

function markdownTable(header: string[], body: string[][]): string {
  return formatTable(header, body, { style: 'markdown' });
}

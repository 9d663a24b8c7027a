import { formatTable } from '@walrus/runtime';
import { walForcedTimes, wholeCycles, type CycleWindow, type RunCheckpoint } from './cycles.js';
import type { Point } from './monitor.js';

const MB = 1024 * 1024;

export interface SizingSettings {
  checkpointTimeoutSec: number;
  completionTarget: number;
  segmentBytes: number;
}

/**
 * The smallest max_wal_size (MB) at which PostgreSQL forces no checkpoint
 * while one checkpoint_timeout of WAL at this rate is written: it counts in
 * whole segments, CheckPointSegments = floor(whole segments in max_wal_size /
 * (1 + completion_target)), and forces a checkpoint once the segment just
 * filled is CheckPointSegments - 1 past the redo point's (xlog.c
 * XLogCheckpointNeeded), so CheckPointSegments - 1 whole segments must hold
 * it. (1 + completion_target) x (R x T + one segment), the estimate this
 * replaces, fell up to a segment short: at a quiet cluster's 40-60 MB,
 * PostgreSQL forced checkpoints at a "needed" size.
 */
export function neededMb(rateBytesPerSec: number, s: SizingSettings): number {
  const perInterval = Math.max(0, rateBytesPerSec) * s.checkpointTimeoutSec;
  let segments = 1;
  while ((Math.floor(segments / (1 + s.completionTarget)) - 1) * s.segmentBytes <= perInterval) segments += 1;
  return (segments * s.segmentBytes) / MB;
}

/** The point closest to t. */
export function at(points: readonly Point[], t: number): Point {
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
  /** WAL-forced checkpoints during the load, from the server log (`checkpoint starting: wal`). */
  forced: number;
  /** Requested checkpoints during the load, from the counters (any cause: the log tells which were WAL-forced). */
  forcedCounter: number;
  /** Seconds from load start to the last WAL-forced checkpoint; 0 when there was none. */
  reliefSec: number;
  /** Every forced checkpoint started within the first sample interval of the load (+1 s). */
  firstIntervalOnly: boolean;
  /** WAL, transactions and full-page images over whole checkpoint cycles from the CHECKPOINT at t = 0; null when the load held no whole cycle. */
  cycles: CycleWindow | null;
  walPerTxnBytes: number;
  fpiPerTxn: number;
  steadyRateBytesPerSec: number;
  neededMb: number;
  finalMb: number;
  finalOverNeeded: number;
  changes: number;
  tps: number;
}

/**
 * WAL per transaction over whole checkpoint cycles (cycles.ts); the steady
 * WAL rate over the last two checkpoint_timeouts of the load, when the arm
 * has settled: the rate that arm's own final size has to carry.
 */
export function steadyFigures(
  points: readonly Point[],
  checkpoints: readonly RunCheckpoint[],
  durationSec: number,
  tps: number,
  s: SizingSettings,
  sampleIntervalSec: number,
): SteadyFigures {
  const end = at(points, durationSec);
  const windowSec = Math.min(2 * s.checkpointTimeoutSec, durationSec);
  const windowStart = at(points, durationSec - windowSec);
  const forced = walForcedTimes(checkpoints, 0, durationSec);
  const rate = (end.walBytes - windowStart.walBytes) / (end.t - windowStart.t);
  const needed = neededMb(rate, s);
  // A checkpoint that starts in the load's last half second has too few transactions after its redo point to close a cycle on;
  // and every arm's window ends at the same whole number of checkpoint_timeouts (cycleCutoff).
  const cycles = wholeCycles(points, checkpoints, Math.min(durationSec - 0.5, cycleCutoff(durationSec, s.checkpointTimeoutSec)));
  return {
    forced: forced.length,
    forcedCounter: forcedTimes(points, 0, durationSec).length,
    reliefSec: forced.at(-1) ?? 0,
    firstIntervalOnly: forced.every((t) => t <= sampleIntervalSec + 1),
    cycles,
    walPerTxnBytes: cycles?.walPerTxnBytes ?? Number.NaN,
    fpiPerTxn: cycles?.fpiPerTxn ?? Number.NaN,
    steadyRateBytesPerSec: rate,
    neededMb: needed,
    finalMb: end.maxWalSizeMb,
    finalOverNeeded: end.maxWalSizeMb / needed,
    changes: sizeChanges(points.filter((p) => p.t >= -1 && p.t <= durationSec + 1)).length,
    tps,
  };
}

/**
 * How late (s) a timed checkpoint may start after its multiple of
 * checkpoint_timeout and still close its arm's window (cycleCutoff): the
 * first interval's forced checkpoints move an arm's schedule by a second or
 * two.
 */
export const CYCLE_SLACK_SEC = 5;

/**
 * Where every arm's window of whole cycles ends: at the last checkpoint
 * started by the largest whole number of checkpoint_timeouts the load holds
 * (+ CYCLE_SLACK_SEC). Every arm's timed checkpoints fall near the same
 * multiples of checkpoint_timeout after its CHECKPOINT at t = 0, but one
 * due right at the load's end starts just before it in one arm and just
 * after in another: a window one cycle longer dilutes the first cycle's
 * full-page images over more transactions (an oracle of 5 cycles against
 * arms of 4 read 1.05 x). Loads shorter than a checkpoint_timeout plus the
 * slack keep the load's end.
 */
export function cycleCutoff(durationSec: number, checkpointTimeoutSec: number): number {
  const whole = Math.floor((durationSec - CYCLE_SLACK_SEC) / checkpointTimeoutSec) * checkpointTimeoutSec;
  return whole >= checkpointTimeoutSec ? whole + CYCLE_SLACK_SEC : durationSec;
}

/** The average WAL rate between two times (bytes/s), from the points closest to them. */
export function walRate(points: readonly Point[], from: number, to: number): number {
  const a = at(points, from);
  const b = at(points, to);
  if (b.t <= a.t) throw new Error(`no time between ${from} s and ${to} s`);
  return (b.walBytes - a.walBytes) / (b.t - a.t);
}

/**
 * The oracle's size, known before the load: the need of the rate a
 * calibration run wrote over its last `windowSec` seconds (the first
 * seconds of pgbench are warm-up and full-page images after the checkpoint).
 */
export function calibratedNeedMb(points: readonly Point[], durationSec: number, windowSec: number, s: SizingSettings): number {
  return neededMb(walRate(points, durationSec - Math.min(windowSec, durationSec), durationSec), s);
}

export function formatSteadyTable(rows: readonly { arm: string; f: SteadyFigures }[], oracleWalPerTxn: number | null): string {
  const header = [
    'arm',
    'forced (log: wal)',
    'requested (counter)',
    'time to relief',
    'whole cycles',
    'WAL/txn',
    'vs oracle',
    'FPI/txn',
    'steady WAL rate',
    'needed',
    'final max_wal_size',
    'final/needed',
    'changes',
    'TPS',
  ];
  const body = rows.map(({ arm, f }) => [
    arm,
    String(f.forced),
    String(f.forcedCounter),
    f.forced === 0 ? 'none forced' : `${f.reliefSec.toFixed(1)} s`,
    // The CHECKPOINT at t = 0 starts a moment before the clock: shown as 0.
    f.cycles === null ? 'none' : `${f.cycles.cycles} (${Math.max(0, f.cycles.fromT).toFixed(0)}-${f.cycles.toT.toFixed(0)} s)`,
    `${(f.walPerTxnBytes / 1024).toFixed(2)} kB`,
    oracleWalPerTxn === null ? '–' : `${(f.walPerTxnBytes / oracleWalPerTxn).toFixed(3)}x`,
    f.fpiPerTxn.toFixed(3),
    `${(f.steadyRateBytesPerSec / MB).toFixed(2)} MB/s`,
    `${f.neededMb.toFixed(0)} MB`,
    `${f.finalMb} MB`,
    `${f.finalOverNeeded.toFixed(2)}x`,
    String(f.changes),
    f.tps.toFixed(0),
  ]);
  return markdownTable(header, body);
}

export interface Burst {
  start: number;
  end: number;
  quietEnd: number;
}

export interface BurstFigures {
  forced: number;
  /** WAL-forced checkpoints over the bursts by the server log (`checkpoint starting: wal`), when the report has it. */
  forcedLog?: number;
  /** Forced checkpoints after the first 15 s of each burst. */
  forcedLate: number;
  /** Forced checkpoints in every burst after the first, each counted from its start to its end. */
  forcedInLaterBursts: number;
  /** Changes of max_wal_size from the first burst's start to the end of the last burst. */
  changesOverBursts: number;
  grows: number;
  shrinks: number;
  /** max_wal_size at the end of each burst and of each quiet period. */
  atBurstEnds: number[];
  atQuietEnds: number[];
}

export function burstFigures(points: readonly Point[], bursts: readonly Burst[]): BurstFigures {
  const changes = sizeChanges(points);
  let forcedLate = 0;
  let forcedInLaterBursts = 0;
  bursts.forEach((b, i) => {
    forcedLate += forcedTimes(points, b.start + 15, b.quietEnd).length;
    if (i > 0) forcedInLaterBursts += forcedTimes(points, b.start, b.end).length;
  });
  const first = bursts[0];
  const last = bursts.at(-1);
  return {
    // Over the whole run at once: per-burst windows would count a checkpoint at a boundary twice.
    forced: first && last ? forcedTimes(points, first.start, last.quietEnd).length : 0,
    forcedLate,
    forcedInLaterBursts,
    changesOverBursts: first && last ? changes.filter((c) => c.t >= first.start && c.t <= last.end + 1).length : 0,
    grows: changes.filter((c) => c.toMb > c.fromMb).length,
    shrinks: changes.filter((c) => c.toMb < c.fromMb).length,
    atBurstEnds: bursts.map((b) => at(points, b.end).maxWalSizeMb),
    atQuietEnds: bursts.map((b) => at(points, b.quietEnd).maxWalSizeMb),
  };
}

export function formatBurstTable(rows: readonly { arm: string; f: BurstFigures }[]): string {
  const header = ['arm', 'forced ckpts', 'forced (log: wal)', 'forced in bursts 2+', 'forced after 15 s of a burst', 'changes over the bursts', 'grows', 'shrinks', 'MB at burst ends', 'MB at quiet ends'];
  const body = rows.map(({ arm, f }) => [
    arm,
    String(f.forced),
    f.forcedLog === undefined ? '–' : String(f.forcedLog),
    String(f.forcedInLaterBursts),
    String(f.forcedLate),
    String(f.changesOverBursts),
    String(f.grows),
    String(f.shrinks),
    f.atBurstEnds.join(' / '),
    f.atQuietEnds.join(' / '),
  ]);
  return markdownTable(header, body);
}

export interface StormFigures {
  /** The WAL actually written, averaged over the run. */
  rateBytesPerSec: number;
  needMb: number;
  peakMb: number;
  finalMb: number;
  finalOverNeed: number;
  changes: number;
  checkpoints: number;
}

/** A manual-CHECKPOINT storm from `start` to `end`: does the size follow the WAL written, not the full-page spikes? */
export function stormFigures(points: readonly Point[], start: number, end: number, checkpoints: number, s: SizingSettings): StormFigures {
  const rate = walRate(points, start, end);
  const need = neededMb(rate, s);
  const inRun = points.filter((p) => p.t >= start && p.t <= end + 1);
  const finalMb = at(points, end).maxWalSizeMb;
  return {
    rateBytesPerSec: rate,
    needMb: need,
    peakMb: Math.max(...inRun.map((p) => p.maxWalSizeMb)),
    finalMb,
    finalOverNeed: finalMb / need,
    changes: sizeChanges(inRun).length,
    checkpoints,
  };
}

export function formatStormTable(rows: readonly { arm: string; f: StormFigures }[]): string {
  const header = ['arm', 'manual CHECKPOINTs', 'WAL rate', 'need', 'peak max_wal_size', 'final max_wal_size', 'final/need', 'changes'];
  const body = rows.map(({ arm, f }) => [
    arm,
    String(f.checkpoints),
    `${(f.rateBytesPerSec / MB).toFixed(2)} MB/s`,
    `${f.needMb.toFixed(0)} MB`,
    `${f.peakMb} MB`,
    `${f.finalMb} MB`,
    `${f.finalOverNeed.toFixed(2)}x`,
    String(f.changes),
  ]);
  return markdownTable(header, body);
}

/** The daily cycle's phases, in seconds since load start. */
export interface DailyPhases {
  rampStart: number;
  peakStart: number;
  rampDownStart: number;
  quietStart: number;
  end: number;
}

export interface DailyFigures {
  forcedAfterPeak: number;
  /** The same by the server log (`checkpoint starting: wal`), when the report has it. */
  forcedLogAfterPeak?: number;
  forcedBeforePeak: number;
  quietRateBytesPerSec: number;
  quietNeedMb: number;
  peakMb: number;
  finalMb: number;
  /** Seconds after the last quiet phase began from which max_wal_size stayed within `within`x of the quiet need; null when it was not at the end. */
  backWithinSec: number | null;
  changes: number;
}

/**
 * The quiet need comes from the last quiet phase's own WAL rate; "within
 * 1.5x" is a size between need / 1.5 and need x 1.5, held from then to the end.
 */
export function dailyFigures(points: readonly Point[], p: DailyPhases, s: SizingSettings, within = 1.5): DailyFigures {
  const rate = walRate(points, p.quietStart, p.end);
  const need = neededMb(rate, s);
  const ok = (mb: number): boolean => mb <= need * within && mb >= need / within;
  const quiet = points.filter((q) => q.t >= p.quietStart && q.t <= p.end + 1);
  let from: number | null = null;
  for (const q of quiet) {
    if (!ok(q.maxWalSizeMb)) from = null;
    else from ??= q.t;
  }
  const inRun = points.filter((q) => q.t >= 0 && q.t <= p.end + 1);
  return {
    forcedAfterPeak: forcedTimes(points, p.peakStart, p.end).length,
    forcedBeforePeak: forcedTimes(points, 0, p.peakStart - 1).length,
    quietRateBytesPerSec: rate,
    quietNeedMb: need,
    peakMb: Math.max(...inRun.map((q) => q.maxWalSizeMb)),
    finalMb: at(points, p.end).maxWalSizeMb,
    backWithinSec: from === null ? null : Math.max(0, from - p.quietStart),
    changes: sizeChanges(inRun).length,
  };
}

export function formatDailyTable(rows: readonly { arm: string; f: DailyFigures }[]): string {
  const header = ['arm', 'forced before the peak', 'forced from the peak on', 'forced from the peak on (log: wal)', 'peak max_wal_size', 'quiet WAL rate', 'quiet need', 'final max_wal_size', 'back within 1.5x of the quiet need', 'changes'];
  const body = rows.map(({ arm, f }) => [
    arm,
    String(f.forcedBeforePeak),
    String(f.forcedAfterPeak),
    f.forcedLogAfterPeak === undefined ? '–' : String(f.forcedLogAfterPeak),
    `${f.peakMb} MB`,
    `${(f.quietRateBytesPerSec / MB).toFixed(2)} MB/s`,
    `${f.quietNeedMb.toFixed(0)} MB`,
    `${f.finalMb} MB`,
    f.backWithinSec === null ? 'not by the end' : `${f.backWithinSec.toFixed(0)} s after quiet began`,
    String(f.changes),
  ]);
  return markdownTable(header, body);
}

function markdownTable(header: string[], body: string[][]): string {
  return formatTable(header, body, { style: 'markdown' });
}

import { formatTable } from '@walrus/runtime';
import { interpolate, walForcedTimes, type RunCheckpoint } from './cycles.js';
import { at, forcedTimes, neededMb, sizeChanges, walRate, type SizingSettings } from './figures.js';
import type { Point } from './monitor.js';

const MB = 1024 * 1024;

/** A maintenance operation's times, in seconds since the arm's t = 0. */
export interface MaintenanceTimes {
  loadStart: number;
  loadEnd: number;
  /** The WAL the operation wrote, from the WAL positions read right before and after it. */
  loadWalBytes: number;
  end: number;
  sampleIntervalSec: number;
}

export interface MaintenanceFigures {
  loadSec: number;
  loadWalBytes: number;
  loadFpi: number;
  /** WAL-forced checkpoints (server log) in the quiet lead-in, in the load's first sample interval (+1 s), and from then to the end. */
  forcedBefore: number;
  forcedFirstInterval: number;
  forcedAfterFirstInterval: number;
  /** Requested checkpoints (counter) from the load's start to the end. */
  requestedCounter: number;
  /** The need of the busiest checkpoint_timeout around the load. */
  loadNeedMb: number;
  atLoadEndMb: number;
  /**
   * The size walrus gave the load: the largest from its start to one
   * checkpoint_timeout after its end (a load shorter than a sample interval
   * is over before walrus has seen it: the size at its end says nothing).
   */
  forLoadMb: number;
  finalOverNeed: number;
  /** The largest size from the load's start to the end of the watch. */
  peakMb: number;
  quietRateBytesPerSec: number;
  quietNeedMb: number;
  atEndMb: number;
  afterOverQuietNeed: number;
  changes: number;
}

/**
 * The need of a short heavy load: what max_wal_size must hold for no
 * checkpoint to be forced while the busiest checkpoint_timeout around it is
 * written (a 20 s COPY puts all its WAL into one timeout). `loadWalBytes`,
 * exact, is the least it can be when the operation is shorter than a
 * timeout: the monitor's 1 s points can cut a 1 s operation short.
 */
export function loadNeedMb(points: readonly Point[], from: number, to: number, s: SizingSettings, loadWalBytes = 0): number {
  const T = s.checkpointTimeoutSec;
  const last = points.at(-1)?.t ?? to;
  let most = 0;
  for (let start = Math.max(0, from - T); start <= to; start += 1) {
    const end = Math.min(start + T, last);
    most = Math.max(most, interpolate(points, end, 'walBytes') - interpolate(points, start, 'walBytes'));
  }
  if (to - from <= T) most = Math.max(most, loadWalBytes);
  return neededMb(most / T, s);
}

export function maintenanceFigures(points: readonly Point[], checkpoints: readonly RunCheckpoint[], m: MaintenanceTimes, s: SizingSettings): MaintenanceFigures {
  const firstIntervalEnd = m.loadStart + m.sampleIntervalSec + 1;
  const need = loadNeedMb(points, m.loadStart, m.loadEnd, s, m.loadWalBytes);
  const atLoadEnd = at(points, m.loadEnd).maxWalSizeMb;
  const sizesIn = (from: number, to: number): number[] => points.filter((p) => p.t >= from && p.t <= to).map((p) => p.maxWalSizeMb);
  const forLoad = Math.max(atLoadEnd, ...sizesIn(m.loadStart, m.loadEnd + s.checkpointTimeoutSec));
  // The quiet need after the load: the WAL rate of the watch's second half, once the load's own cycle is over.
  const quietRate = walRate(points, m.loadEnd + (m.end - m.loadEnd) / 2, m.end);
  const quietNeed = neededMb(quietRate, s);
  const atEnd = at(points, m.end).maxWalSizeMb;
  // Full-page images as the statistics report them: a backend flushes its counters at most once a second, hence the second after the end.
  const a = { fpi: interpolate(points, m.loadStart, 'fpi') };
  return {
    loadSec: m.loadEnd - m.loadStart,
    loadWalBytes: m.loadWalBytes,
    loadFpi: interpolate(points, m.loadEnd + 1, 'fpi') - a.fpi,
    forcedBefore: walForcedTimes(checkpoints, 0, m.loadStart).length,
    forcedFirstInterval: walForcedTimes(checkpoints, m.loadStart, firstIntervalEnd).length,
    forcedAfterFirstInterval: checkpoints.filter((c) => c.cause === 'wal' && c.t > firstIntervalEnd && c.t <= m.end).length,
    requestedCounter: forcedTimes(points, m.loadStart, m.end).length,
    loadNeedMb: need,
    atLoadEndMb: atLoadEnd,
    forLoadMb: forLoad,
    finalOverNeed: forLoad / need,
    peakMb: Math.max(atLoadEnd, ...sizesIn(m.loadStart, m.end + 1)),
    quietRateBytesPerSec: quietRate,
    quietNeedMb: quietNeed,
    atEndMb: atEnd,
    afterOverQuietNeed: atEnd / quietNeed,
    changes: sizeChanges(points.filter((p) => p.t >= m.loadStart && p.t <= m.end + 1)).length,
  };
}

export function formatMaintenanceTable(rows: readonly { arm: string; f: MaintenanceFigures }[]): string {
  const header = [
    'arm',
    'load',
    'WAL of the load',
    'FPI',
    'forced before / first interval / after (log: wal)',
    'requested (counter)',
    'need of the load',
    'at load end',
    'for the load',
    'for the load/need',
    'peak',
    'quiet need',
    'at the end',
    'end/quiet need',
    'changes',
  ];
  const body = rows.map(({ arm, f }) => [
    arm,
    `${f.loadSec.toFixed(1)} s`,
    `${(f.loadWalBytes / MB).toFixed(0)} MB`,
    String(Math.round(f.loadFpi)),
    `${f.forcedBefore} / ${f.forcedFirstInterval} / ${f.forcedAfterFirstInterval}`,
    String(f.requestedCounter),
    `${f.loadNeedMb.toFixed(0)} MB`,
    `${f.atLoadEndMb} MB`,
    `${f.forLoadMb} MB`,
    `${f.finalOverNeed.toFixed(2)}x`,
    `${f.peakMb} MB`,
    `${f.quietNeedMb.toFixed(0)} MB`,
    `${f.atEndMb} MB`,
    `${f.afterOverQuietNeed.toFixed(2)}x`,
    String(f.changes),
  ]);
  return formatTable(header, body, { style: 'markdown' });
}

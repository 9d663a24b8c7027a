import { formatTable } from '@walrus/runtime';
import { walForcedTimes, type RunCheckpoint } from './cycles.js';
import { at, forcedTimes, neededMb, sizeChanges, walRate, type SizingSettings } from './figures.js';
import type { Point } from './monitor.js';

const MB = 1024 * 1024;

/** A maintenance operation's times, in seconds since the arm's t = 0. */
export interface MaintenanceTimes {
  loadStart: number;
  loadEnd: number;
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
  finalOverNeed: number;
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
 * written (a 20 s COPY puts all its WAL into one timeout).
 */
export function loadNeedMb(points: readonly Point[], from: number, to: number, s: SizingSettings): number {
  const T = s.checkpointTimeoutSec;
  const last = points.at(-1)?.t ?? to;
  let most = 0;
  for (let start = Math.max(0, from - T); start <= to; start += 1) {
    const end = Math.min(start + T, last);
    most = Math.max(most, at(points, end).walBytes - at(points, start).walBytes);
  }
  return neededMb(most / T, s);
}

export function maintenanceFigures(points: readonly Point[], checkpoints: readonly RunCheckpoint[], m: MaintenanceTimes, s: SizingSettings): MaintenanceFigures {
  const firstIntervalEnd = m.loadStart + m.sampleIntervalSec + 1;
  const need = loadNeedMb(points, m.loadStart, m.loadEnd, s);
  const atLoadEnd = at(points, m.loadEnd).maxWalSizeMb;
  // The quiet need after the load: the WAL rate of the watch's second half, once the load's own cycle is over.
  const quietRate = walRate(points, m.loadEnd + (m.end - m.loadEnd) / 2, m.end);
  const quietNeed = neededMb(quietRate, s);
  const atEnd = at(points, m.end).maxWalSizeMb;
  const a = at(points, m.loadStart);
  const b = at(points, m.loadEnd);
  return {
    loadSec: m.loadEnd - m.loadStart,
    loadWalBytes: b.walBytes - a.walBytes,
    loadFpi: b.fpi - a.fpi,
    forcedBefore: walForcedTimes(checkpoints, 0, m.loadStart).length,
    forcedFirstInterval: walForcedTimes(checkpoints, m.loadStart, firstIntervalEnd).length,
    forcedAfterFirstInterval: checkpoints.filter((c) => c.cause === 'wal' && c.t > firstIntervalEnd && c.t <= m.end).length,
    requestedCounter: forcedTimes(points, m.loadStart, m.end).length,
    loadNeedMb: need,
    atLoadEndMb: atLoadEnd,
    finalOverNeed: atLoadEnd / need,
    peakMb: Math.max(...points.filter((p) => p.t >= m.loadStart && p.t <= m.end + 1).map((p) => p.maxWalSizeMb)),
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
    'end/need',
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
    String(f.loadFpi),
    `${f.forcedBefore} / ${f.forcedFirstInterval} / ${f.forcedAfterFirstInterval}`,
    String(f.requestedCounter),
    `${f.loadNeedMb.toFixed(0)} MB`,
    `${f.atLoadEndMb} MB`,
    `${f.finalOverNeed.toFixed(2)}x`,
    `${f.peakMb} MB`,
    `${f.quietNeedMb.toFixed(0)} MB`,
    `${f.atEndMb} MB`,
    `${f.afterOverQuietNeed.toFixed(2)}x`,
    String(f.changes),
  ]);
  return formatTable(header, body, { style: 'markdown' });
}

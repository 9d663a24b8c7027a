import { formatTable } from '@walrus/runtime';
import { walForcedTimes, type RunCheckpoint } from './cycles.js';
import { at, neededMb, walRate, type SizingSettings } from './figures.js';
import type { Point } from './monitor.js';

const MB = 1024 * 1024;

/** One batch of the recurring shape, in seconds since the arm's t = 0. */
export interface RecurringBatch {
  start: number;
  end: number;
  /** When the size is judged against the quiet need: a settle time before the next batch (or the run's end, for the last). */
  checkAt: number;
}

export interface RecurringBatchFigures {
  /** 1 for the first batch. */
  n: number;
  /** WAL-forced checkpoints (server log: `checkpoint starting: wal`) that started during the batch. */
  forced: number;
  batchRateBytesPerSec: number;
  /** neededMb of the batch's own WAL rate. */
  batchNeedMb: number;
  /** max_wal_size at the batch's start: ready for it when at least batchNeedMb. */
  atStartMb: number;
  /** WAL rate and need of the quiet load from the batch's end to checkAt. */
  quietRateBytesPerSec: number;
  quietNeedMb: number;
  atCheckMb: number;
}

/**
 * Per batch: was the size ready when it started (the recurring memory's
 * job from the second batch on), were checkpoints forced during it, and
 * had the size come back to the quiet load's need by the check time.
 */
export function recurringFigures(points: readonly Point[], checkpoints: readonly RunCheckpoint[], batches: readonly RecurringBatch[], s: SizingSettings): RecurringBatchFigures[] {
  return batches.map((b, i) => {
    const batchRate = walRate(points, b.start, b.end);
    const quietRate = walRate(points, b.end, b.checkAt);
    return {
      n: i + 1,
      forced: walForcedTimes(checkpoints, b.start, b.end).length,
      batchRateBytesPerSec: batchRate,
      batchNeedMb: neededMb(batchRate, s),
      // The point just before the batch: the one closest to its start may already show a reaction to it.
      atStartMb: at(points, b.start - 0.5).maxWalSizeMb,
      quietRateBytesPerSec: quietRate,
      quietNeedMb: neededMb(quietRate, s),
      atCheckMb: at(points, b.checkAt).maxWalSizeMb,
    };
  });
}

/** "within 1.5x": need / 1.5 <= size <= need x 1.5, as the daily shape judges it. */
export function withinOf(sizeMb: number, needMb: number, within = 1.5): boolean {
  return sizeMb <= needMb * within && sizeMb >= needMb / within;
}

export function formatRecurringTable(rows: readonly { arm: string; f: RecurringBatchFigures }[]): string {
  const header = ['arm', 'batch', 'forced during it (log: wal)', 'batch WAL rate', 'batch need', 'max_wal_size at its start', 'quiet WAL rate after', 'quiet need', 'max_wal_size at the check', 'check / quiet need'];
  const body = rows.map(({ arm, f }) => [
    arm,
    String(f.n),
    String(f.forced),
    `${(f.batchRateBytesPerSec / MB).toFixed(2)} MB/s`,
    `${f.batchNeedMb.toFixed(0)} MB`,
    `${f.atStartMb} MB`,
    `${(f.quietRateBytesPerSec / MB).toFixed(2)} MB/s`,
    `${f.quietNeedMb.toFixed(0)} MB`,
    `${f.atCheckMb} MB`,
    `${(f.atCheckMb / f.quietNeedMb).toFixed(2)}x`,
  ]);
  return formatTable(header, body, { style: 'markdown' });
}

import type { Sample } from '../schemas.js';
import { toIso, toMs } from './time.js';

export const MB = 1024 * 1024;
/** PostgreSQL's default; used when a sample does not say (older collectors). */
export const DEFAULT_WAL_SEGMENT_BYTES = 16 * MB;
/** Completed checkpoint intervals kept for the percentile algorithm (its "recent window"). */
export const INTERVAL_HISTORY = 20;
/*
 * A sample taken every checkpoint_timeout may arrive a little early (timer
 * jitter): a window that is 90 % of an interval long still counts as whole.
 */
const WHOLE_INTERVAL = 0.9;

/**
 * What the engine tracks about a cluster's WAL between samples, stored in
 * ClusterState.algo under WAL_STATE_KEY (plain JSON).
 *
 * WAL right after a checkpoint is inflated by full-page images, so the rate
 * that sizing relies on is measured over windows covering whole checkpoint
 * intervals: a window opens at a sample and closes at the first sample at
 * least one checkpoint_timeout later, however often samples come.
 */
export interface WalRateState {
  /** Start of the open window. */
  windowAt: string;
  windowWalBytes: number;
  /** WAL rate (bytes/s) of each completed window, oldest first, at most INTERVAL_HISTORY. */
  intervals: number[];
  /** Exponential moving average of the window rates (bytes/s), null before the first window closes. */
  ema: number | null;
  /** Rate over the last sample interval (bytes/s): the freshest projection. */
  lastRate: number | null;
  /** Rate over the sample interval before that. */
  prevLastRate?: number | null;
  /** checkpoint_redo_bytes of the previous sample, when the collector reads it. */
  redoBytes: number | null;
  /** max_wal_size (MB) of the previous sample. */
  sizeMb: number;
  /** Checkpoints forced by WAL volume so far in the open window. */
  windowForced?: number;
  /** How many of the last `intervals` had checkpoints forced by WAL volume (always the newest ones). */
  pressuredTail?: number;
}

export const WAL_STATE_KEY = 'wal_rate';

/** One sample's contribution: the new state and what it tells about WAL. */
export function trackWal(
  previous: WalRateState | undefined,
  prevSample: { at: string; walBytes: number } | null,
  sample: Sample,
  emaAlpha: number,
  walCaused = 0,
): WalRateState {
  const atMs = toMs(sample.collected_at);
  const fresh: WalRateState = {
    windowAt: toIso(atMs),
    windowWalBytes: sample.wal_bytes,
    intervals: [],
    ema: null,
    lastRate: null,
    redoBytes: sample.checkpoint_redo_bytes ?? null,
    sizeMb: sample.max_wal_size_mb,
  };
  // No previous sample, or WAL went backwards (another cluster behind the same id, a restore): start over.
  if (prevSample === null || sample.wal_bytes < prevSample.walBytes) return fresh;
  const prevMs = toMs(prevSample.at);
  if (atMs <= prevMs) return fresh;

  const base: WalRateState =
    previous !== undefined && previous.windowWalBytes <= sample.wal_bytes && toMs(previous.windowAt) < atMs
      ? previous
      : { ...fresh, windowAt: prevSample.at, windowWalBytes: prevSample.walBytes };
  const lastRate = (sample.wal_bytes - prevSample.walBytes) / ((atMs - prevMs) / 1000);
  const windowForced = (base.windowForced ?? 0) + walCaused;
  const next: WalRateState = {
    ...base,
    lastRate,
    prevLastRate: previous === undefined ? null : previous.lastRate,
    redoBytes: sample.checkpoint_redo_bytes ?? null,
    sizeMb: sample.max_wal_size_mb,
    windowForced,
  };

  const windowSec = (atMs - toMs(base.windowAt)) / 1000;
  const intervalSec = sample.checkpoint_timeout_s;
  if (windowSec < intervalSec * WHOLE_INTERVAL) return next;

  const rate = (sample.wal_bytes - base.windowWalBytes) / windowSec;
  // alpha is per checkpoint interval: a window spanning several intervals
  // (a pause in sampling) weighs as much as that many windows would have.
  const alpha = 1 - (1 - emaAlpha) ** (windowSec / intervalSec);
  const tail = base.pressuredTail ?? 0;
  const closed = { ...next, windowAt: toIso(atMs), windowWalBytes: sample.wal_bytes, windowForced: 0 };
  if (windowForced > 0) {
    // Forced checkpoints inflate WAL (full-page images after each one): such
    // a window says "too small", and its rate is an upper bound.
    return {
      ...closed,
      intervals: [...base.intervals, rate].slice(-INTERVAL_HISTORY),
      pressuredTail: Math.min(tail + 1, INTERVAL_HISTORY),
      ema: base.ema === null ? rate : alpha * rate + (1 - alpha) * base.ema,
    };
  }
  if (tail > 0) {
    // The first whole interval with timed checkpoints only, after forced
    // ones: the regime changed, and the inflated windows describe one that
    // no longer exists. Start the average and the percentile window over
    // from the rate the cluster writes now.
    return {
      ...closed,
      intervals: [...base.intervals.slice(0, Math.max(0, base.intervals.length - tail)), rate].slice(-INTERVAL_HISTORY),
      pressuredTail: 0,
      ema: rate,
    };
  }
  return {
    ...closed,
    intervals: [...base.intervals, rate].slice(-INTERVAL_HISTORY),
    pressuredTail: 0,
    ema: base.ema === null ? rate : alpha * rate + (1 - alpha) * base.ema,
  };
}

export function segmentBytes(sample: Sample): number {
  return sample.wal_segment_size_bytes ?? DEFAULT_WAL_SEGMENT_BYTES;
}

/**
 * The max_wal_size (MB) that keeps checkpoints timed at a WAL rate of
 * `rateBytesPerSec`: a checkpoint is forced once the WAL since the last redo
 * point reaches about max_wal_size / (1 + completion_target), so
 * max_wal_size >= (1 + completion_target) x (R x checkpoint_timeout + one segment).
 */
export function requiredSizeMb(rateBytesPerSec: number, sample: Sample): number {
  const perInterval = Math.max(0, rateBytesPerSec) * sample.checkpoint_timeout_s + segmentBytes(sample);
  return Math.ceil(((1 + sample.checkpoint_completion_target) * perInterval) / MB);
}

/**
 * PostgreSQL's CheckPointSegments for a max_wal_size (xlog.c
 * CalculateCheckpointSegments): at least 1.
 */
export function checkpointSegments(sizeMb: number, completionTarget: number, segBytes: number): number {
  return Math.max(1, Math.floor((sizeMb * MB) / segBytes / (1 + completionTarget)));
}

/** Rounded to whole MB for metadata and logs. */
export const mbPerSec = (bytesPerSec: number): number => Math.round((bytesPerSec / MB) * 1000) / 1000;

import { z } from 'zod';
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
export const WHOLE_INTERVAL = 0.9;

const IsoTime = z.iso.datetime({ offset: true });
const Rate = z.number();

/**
 * What the engine tracks about a cluster's WAL between samples, stored in
 * the cluster's state as `walRate` (plain JSON, checked when read).
 *
 * WAL right after a checkpoint is inflated by full-page images, so the rate
 * that sizing relies on is measured over windows covering whole checkpoint
 * intervals: a window opens at a sample and closes at the first sample at
 * least one checkpoint_timeout later, however often samples come.
 */
export const WalRateSchema = z.strictObject({
  /** Start of the open window. */
  windowAt: IsoTime,
  windowWalBytes: z.number().min(0),
  /** WAL rate (bytes/s) of each completed window, oldest first, at most INTERVAL_HISTORY. */
  intervals: z.array(Rate).max(INTERVAL_HISTORY),
  /** Exponential moving average of the window rates (bytes/s), null before the first window closes. */
  ema: Rate.nullable(),
  /** Rate over the last sample interval (bytes/s): the freshest projection. */
  lastRate: Rate.nullable(),
  /** Rate over the sample interval before that. */
  prevLastRate: Rate.nullable().optional(),
  /** And the one before that (the rate before a two-interval onset). */
  prevPrevLastRate: Rate.nullable().optional(),
  /** checkpoint_redo_bytes of the previous sample, when the collector reads it. */
  redoBytes: z.number().min(0).nullable(),
  /** max_wal_size (MB) of the previous sample. */
  sizeMb: z.number().int().min(0),
  /** Checkpoints forced by WAL volume so far in the open window. */
  windowForced: z.number().int().min(0).optional(),
  /** How many of the last `intervals` had checkpoints forced by WAL volume (always the newest ones). */
  pressuredTail: z.number().int().min(0).optional(),
  /*
   * The fields below were added with "sizing quality v2"; states written
   * before lack them and are read as empty.
   */
  /** [epoch ms, wal_bytes] of recent samples, at least RECENT_STEP of a checkpoint_timeout apart, for the sliding rate. */
  recent: z.array(z.tuple([z.number(), z.number()])).optional(),
  /** WAL rate (bytes/s) over the last checkpoint_timeout or so (see recentSpanSec), sliding with every sample; null when unknown. */
  recentRate: Rate.nullable().optional(),
  /** The span (s) recentRate was measured over: a whole interval once it reaches WHOLE_INTERVAL x checkpoint_timeout. */
  recentSpanSec: z.number().min(0).optional(),
  /** The peak memory ("fast up, slow down"): the highest whole-interval sliding rate, and when the load was last near it. */
  peak: z.strictObject({ rate: Rate, at: IsoTime }).nullable().optional(),
  /** [epoch ms, WAL-caused checkpoints, max_wal_size MB they happened at] of the last checkpoint_timeout. */
  forced: z.array(z.tuple([z.number(), z.number(), z.number()])).optional(),
  /**
   * [epoch ms of the middle of the sample interval, requested checkpoints in it, max_wal_size MB at
   * the interval's end (absent in states written before it)] over the last
   * checkpoint_timeout, whatever caused them: multiplicative and additive count these, as pg_walrus
   * counts per checkpoint_timeout (recentRequested). At most RECENT_REQUESTED_MAX entries.
   */
  requested: z.array(z.union([z.tuple([z.number(), z.number()]), z.tuple([z.number(), z.number(), z.number()])])).optional(),
  /** When a sample interval last had requested checkpoints that WAL did not cause (CHECKPOINT commands), null if not within the tracker's memory. */
  lastOtherAt: IsoTime.nullable().optional(),
  /** checkpoints_timed of the previous sample (absent in states written before it). */
  timed: z.number().int().min(0).optional(),
  /** The end of the last sample interval in which a timed checkpoint started (the counter moved), null if none known. */
  lastTimedAt: IsoTime.nullable().optional(),
  /** Requested checkpoints still running at this sample (checkpoint-causes.ts `pending`), judged at the next. */
  pendingRequested: z.number().int().min(0).optional(),
});
export type WalRateState = z.infer<typeof WalRateSchema>;

/**
 * The sliding rate keeps one sample per RECENT_STEP x checkpoint_timeout: at
 * most about 1 / RECENT_STEP points in the state however often samples come
 * (one a second under pressure), and a whole interval measured to within
 * that fraction.
 */
export const RECENT_STEP = 0.1;
/**
 * Fast up, slow down: the peak memory holds the highest whole-interval rate
 * for PEAK_HOLD_INTERVALS checkpoint_timeouts after the load was last at
 * least PEAK_NEAR x that peak, and formula algorithms never shrink below what
 * it needs meanwhile. Four intervals (2 minutes at a 30 s timeout) outlast a
 * quiet minute between recurring bursts, while a load that really went is
 * forgotten two intervals' worth of hold sooner than the 3 minutes a daily
 * cycle may take to come back to its quiet size (the hold counts from the
 * ramp down, not from the first quiet sample). Expressed in time, not in
 * samples, because samples come every second under pressure and every few
 * seconds otherwise. Half the peak still counts as "near" because a burst as
 * short as one interval is split between two whole-interval spans as the
 * sliding window passes over it.
 */
export const PEAK_HOLD_INTERVALS = 4;
/**
 * Sample intervals with requested checkpoints kept for the count over the
 * last checkpoint_timeout: bounds the state at a long checkpoint_timeout
 * under a storm (the oldest go first; by then the count is far past any
 * threshold, whose maximum is 1000 per interval).
 */
export const RECENT_REQUESTED_MAX = 256;
export const PEAK_NEAR = 0.5;
/**
 * At the regime change (the first whole window with timed checkpoints only,
 * after forced ones), a load still writing at least this share of the peak
 * is the same load measured without the forced checkpoints' full-page
 * images (they inflate a window by up to about 1.3 x): the peak is measured
 * again from there. Below it the load went or eased (a burst's quiet), and
 * the peak is held as before.
 */
export const PEAK_REMEASURE = 2 / 3;

/** One sample's contribution: the new state and what it tells about WAL. */
export function trackWal(
  previous: WalRateState | undefined,
  prevSample: { at: string; walBytes: number } | null,
  sample: Sample,
  emaAlpha: number,
  walCaused = 0,
  other = 0,
  requested = 0,
): WalRateState {
  const tracked = trackWindows(previous, prevSample, sample, emaAlpha, walCaused);
  // trackWindows closed the first timed-only window after forced ones: the regime changed.
  const regimeChanged = (previous?.pressuredTail ?? 0) > 0 && (tracked.pressuredTail ?? 0) === 0;
  return trackRecent(tracked, previous, prevSample, sample, walCaused, other, requested, regimeChanged);
}

/**
 * Requested checkpoints of the sample intervals whose middle lies within the
 * last checkpoint_timeout (and after `sinceMs`: counted once toward a
 * change). The middle, not the sample time, decides: at pg_walrus's own
 * interval (one sample per checkpoint_timeout, a little early or late) the
 * window holds exactly the current interval, as pg_walrus counts; at 5 s it
 * holds the six intervals that make up the last 30 s. Intervals whose sample
 * showed a smaller max_wal_size than this one's are left out.
 */
export function recentRequested(wal: WalRateState | null, sample: Sample, sinceMs: number): number {
  const atMs = toMs(sample.collected_at);
  const fromMs = atMs - sample.checkpoint_timeout_s * 1000;
  // Checkpoints counted while the cluster still ran a smaller size (a growth decided but not yet in force:
  // the applier's delay, or samples published late after a broker outage) happened at the size walrus grew from.
  return (wal?.requested ?? []).reduce(
    (n, [mid, count, atSizeMb]) => (mid > fromMs && mid > sinceMs && mid <= atMs && (atSizeMb ?? Infinity) >= sample.max_wal_size_mb ? n + count : n),
    0,
  );
}

/** The sliding rate, the peak memory, forced checkpoints over the last checkpoint_timeout. */
function trackRecent(
  next: WalRateState,
  previous: WalRateState | undefined,
  prevSample: { at: string; walBytes: number } | null,
  sample: Sample,
  walCaused: number,
  other: number,
  requestedNow: number,
  regimeChanged: boolean,
): WalRateState {
  const atMs = toMs(sample.collected_at);
  const timeoutMs = sample.checkpoint_timeout_s * 1000;
  // A fresh start (no previous sample, WAL went backwards) forgets everything.
  const continued = next.lastRate !== null && previous !== undefined && prevSample !== null;
  const prevPoints = continued ? (previous.recent ?? []).filter(([t, w]) => t < atMs && w <= sample.wal_bytes) : [];
  const points: Array<[number, number]> =
    prevPoints.length === 0 && prevSample !== null && next.lastRate !== null ? [[toMs(prevSample.at), prevSample.walBytes]] : prevPoints;
  // The newest point at least a whole interval old, else the oldest one.
  const whole = points.filter(([t]) => atMs - t >= timeoutMs * WHOLE_INTERVAL).at(-1);
  const from = whole ?? points[0];
  const recentSpanSec = from === undefined ? 0 : (atMs - from[0]) / 1000;
  const recentRate = from === undefined || recentSpanSec <= 0 ? null : (sample.wal_bytes - from[1]) / recentSpanSec;
  const newest = points.at(-1);
  const kept = newest === undefined || atMs - newest[0] >= timeoutMs * RECENT_STEP ? [...points, [atMs, sample.wal_bytes] as [number, number]] : points;
  const recent = kept.filter(([t]) => whole === undefined || t >= whole[0]);

  const forced: Array<[number, number, number]> = [
    ...(continued ? (previous.forced ?? []) : []).filter(([t]) => atMs - t < timeoutMs),
    ...(walCaused > 0 ? [[atMs, walCaused, Math.min(previous?.sizeMb ?? sample.max_wal_size_mb, sample.max_wal_size_mb)] as [number, number, number]] : []),
  ];

  // Kept even across a fresh start of the rates: the counter's delta does not depend on WAL positions.
  const midMs = prevSample === null ? atMs : (toMs(prevSample.at) + atMs) / 2;
  const requested: Array<[number, number] | [number, number, number]> = [
    ...(previous?.requested ?? []).filter(([mid]) => mid > atMs - timeoutMs && mid < atMs),
    ...(requestedNow > 0 ? [[midMs, requestedNow, sample.max_wal_size_mb] as [number, number, number]] : []),
  ].slice(-RECENT_REQUESTED_MAX);

  let peak = continued ? (previous.peak ?? null) : null;
  let regime: Partial<WalRateState> = {};
  if (whole !== undefined && recentRate !== null) {
    const holdMs = PEAK_HOLD_INTERVALS * timeoutMs;
    if (regimeChanged && peak !== null && recentRate >= PEAK_REMEASURE * peak.rate) {
      // The peak came from windows that forced checkpoints inflated (full-page
      // images after each one), and the load is still there: measure its peak
      // again from the first window without them, or a steady load would keep
      // the size its inflated start asked for (bench:quality: 1.24 x).
      peak = { rate: recentRate, at: toIso(atMs) };
    } else if (peak === null || recentRate >= PEAK_NEAR * peak.rate) {
      peak = { rate: Math.max(peak?.rate ?? 0, recentRate), at: toIso(atMs) };
    } else if (atMs - toMs(peak.at) >= holdMs) {
      // The load stayed well below its peak for the whole hold: it went. Like
      // the regime change after forced checkpoints, the average and the
      // percentile window start over from what the cluster writes now, so a
      // formula algorithm comes down in one shrink instead of waiting for its
      // long memory to fade.
      peak = { rate: recentRate, at: toIso(atMs) };
      regime = { intervals: [recentRate], ema: recentRate, pressuredTail: 0 };
    }
  }
  return {
    ...next,
    ...regime,
    recent,
    recentRate,
    recentSpanSec,
    peak,
    forced,
    ...(requested.length > 0 ? { requested } : {}),
    lastOtherAt: other > 0 ? toIso(atMs) : continued ? (previous.lastOtherAt ?? null) : null,
    timed: sample.checkpoints_timed,
    lastTimedAt:
      continued && previous.timed !== undefined && sample.checkpoints_timed > previous.timed ? toIso(atMs) : continued ? (previous.lastTimedAt ?? null) : null,
  };
}

function trackWindows(
  previous: WalRateState | undefined,
  prevSample: { at: string; walBytes: number } | null,
  sample: Sample,
  emaAlpha: number,
  walCaused: number,
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
    prevPrevLastRate: previous === undefined ? null : (previous.prevLastRate ?? null),
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
 * `rateBytesPerSec`, in PostgreSQL's whole segments. A backend requests a
 * checkpoint once the segment it has just filled is CheckPointSegments - 1
 * past the redo point's (xlog.c XLogCheckpointNeeded); the redo point may sit
 * at the end of its segment, so as little as (CheckPointSegments - 1)
 * segments of WAL can force one. One checkpoint_timeout's WAL (R x T) fits
 * when CheckPointSegments >= floor(R x T / segment) + 2, and
 * CheckPointSegments = floor(floor(max_wal_size / segment) / (1 +
 * completion_target)): the smallest whole number of segments that gives it.
 * The formula this replaces, (1 + completion_target) x (R x T + one
 * segment), fell short by up to a segment, which at small sizes (a quiet
 * cluster's 40-60 MB) let a slow trickle of WAL force checkpoints.
 */
export function requiredSizeMb(rateBytesPerSec: number, sample: Sample): number {
  const seg = segmentBytes(sample);
  const target = sample.checkpoint_completion_target;
  const wanted = Math.floor((Math.max(0, rateBytesPerSec) * sample.checkpoint_timeout_s) / seg) + 2;
  const reaches = (segments: number): boolean => checkpointSegments((segments * seg) / MB, target, seg) >= wanted;
  // Floating point may put the estimate one segment off either way.
  let segments = Math.ceil(wanted * (1 + target));
  while (segments > 1 && reaches(segments - 1)) segments -= 1;
  while (!reaches(segments)) segments += 1;
  return (segments * seg) / MB;
}

/**
 * PostgreSQL's CheckPointSegments for a max_wal_size (xlog.c
 * CalculateCheckpointSegments): whole segments in max_wal_size (integer
 * division, ConvertToXSegs) over 1 + completion_target, rounded down, at least 1.
 */
export function checkpointSegments(sizeMb: number, completionTarget: number, segBytes: number): number {
  const segmentsInSize = Math.floor((sizeMb * MB) / segBytes);
  return Math.max(1, Math.floor(segmentsInSize / (1 + completionTarget)));
}

/** Rounded to whole MB for metadata and logs. */
export const mbPerSec = (bytesPerSec: number): number => Math.round((bytesPerSec / MB) * 1000) / 1000;

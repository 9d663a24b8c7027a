import { assert, describe, expect, it } from 'vitest';
import { at, sample } from '../testing/builders.js';
import { checkpointSegments, MB, PEAK_HOLD_INTERVALS, PEAK_NEAR, PEAK_REMEASURE, requiredSizeMb, trackWal, type WalRateState } from './wal-rate.js';

/** Feeds (seconds, wal bytes) pairs through the tracker with a 30 s checkpoint_timeout. */
function track(points: Array<[number, number, number?, number?]>, alpha = 0.2, timeout = 30, from?: WalRateState): WalRateState {
  let state: WalRateState | undefined = from;
  let prev: { at: string; walBytes: number } | null = null;
  for (const [sec, wal, forced, other] of points) {
    state = trackWal(state, prev, sample({ at: sec, walBytes: wal, timeout }), alpha, forced ?? 0, other ?? 0);
    prev = { at: at(sec), walBytes: wal };
  }
  if (!state) throw new Error('no points');
  return state;
}

describe('wal rate - windows of whole checkpoint intervals', () => {
  it('wal rate - samples every 5 s close a window only once 30 s have passed', () => {
    // 10 MB/s for the first 5 s (full-page images after a checkpoint), 2 MB/s after.
    const pts: Array<[number, number]> = [[0, 0]];
    let wal = 0;
    for (let t = 5; t <= 25; t += 5) pts.push([t, (wal += (t === 5 ? 10 : 2) * 5 * MB)]);
    const open = track(pts);
    expect(open.intervals).toEqual([]);
    expect(open.ema).toBeNull();
    expect(open.lastRate).toBe(2 * MB);
    const closed = track([...pts, [30, wal + 2 * 5 * MB]]);
    // (50 + 5 x 10) MB over 30 s: the whole cycle, not the last sample's 2 MB/s.
    expect(closed.intervals).toHaveLength(1);
    const [interval] = closed.intervals;
    assert(interval !== undefined);
    expect(interval / MB).toBeCloseTo(100 / 30, 6);
    expect(closed.windowAt).toBe(at(30));
  });

  it('wal rate - a sample every checkpoint_timeout closes a window each time; the EMA weighs the newest by alpha', () => {
    const s = track([
      [0, 0],
      [30, 30 * 10 * MB],
      [60, 30 * 10 * MB + 30 * 5 * MB],
    ]);
    expect(s.intervals.map((r) => r / MB)).toEqual([10, 5]);
    assert(s.ema !== null);
    expect(s.ema / MB).toBeCloseTo(0.2 * 5 + 0.8 * 10, 9);
  });

  it('wal rate - a window spanning several intervals weighs like that many', () => {
    const s = track([
      [0, 0],
      [30, 300 * MB],
      [90, 300 * MB],
    ]);
    // alpha over two intervals: 1 - 0.8^2 = 0.36 of the new (zero) rate.
    assert(s.ema !== null);
    expect(s.ema / MB).toBeCloseTo(0.64 * 10, 9);
  });

  it('wal rate - after intervals with forced checkpoints, the first calm one starts the average and the window over', () => {
    const s = track([
      [0, 0],
      [30, 30 * 20 * MB, 5], // forced checkpoints: full-page images everywhere, 20 MB/s
      [60, 30 * 20 * MB + 30 * 15 * MB, 1],
      [90, 30 * 35 * MB + 30 * 8 * MB], // timed only: 8 MB/s is what the load really writes
    ]);
    expect(s.intervals.map((r) => r / MB)).toEqual([8]);
    assert(s.ema !== null);
    expect(s.ema / MB).toBeCloseTo(8, 9);
    expect(s.pressuredTail).toBe(0);
  });

  it('wal rate - intervals with forced checkpoints still count while nothing calmer is known', () => {
    const s = track([
      [0, 0],
      [30, 30 * 20 * MB, 5],
      [60, 30 * 40 * MB, 2],
    ]);
    expect(s.intervals.map((r) => r / MB)).toEqual([20, 20]);
    expect(s.pressuredTail).toBe(2);
  });

  it('wal rate - keeps at most 20 intervals', () => {
    const pts: Array<[number, number]> = [];
    for (let i = 0; i <= 25; i++) pts.push([i * 30, i * 30 * MB]);
    expect(track(pts).intervals).toHaveLength(20);
  });

  it('wal rate - WAL going backwards starts over', () => {
    const s = track([
      [0, 0],
      [30, 300 * MB],
      [60, 10 * MB],
    ]);
    expect(s).toMatchObject({ intervals: [], ema: null, lastRate: null, windowWalBytes: 10 * MB });
  });
});

/** One sample every `step` s from `from` to `to` s at `mbPerSec`, continuing from `wal` bytes; returns the points and the WAL after. */
function steady(from: number, to: number, step: number, mbPerSec: number, wal: number): { pts: Array<[number, number]>; wal: number } {
  const pts: Array<[number, number]> = [];
  let w = wal;
  for (let t = from + step; t <= to; t += step) pts.push([t, (w += mbPerSec * step * MB)]);
  return { pts, wal: w };
}

describe('wal rate - the sliding rate and the peak memory', () => {
  it('wal rate - samples every second: the sliding rate covers the last checkpoint_timeout, with a dozen points kept', () => {
    const quiet = steady(0, 60, 1, 1, 0);
    const load = steady(60, 80, 1, 10, quiet.wal);
    const s = track([[0, 0], ...quiet.pts, ...load.pts]);
    // 20 s at 10 MB/s and the rest of a whole interval (27 to 30 s, the kept points are 3 s apart) at 1 MB/s
    assert(s.recentRate !== undefined && s.recentRate !== null);
    expect(s.recentSpanSec).toBeGreaterThanOrEqual(27);
    expect(s.recentSpanSec).toBeLessThanOrEqual(30);
    expect(s.recentRate / MB).toBeCloseTo((200 + (s.recentSpanSec ?? 0) - 20) / (s.recentSpanSec ?? 1), 6);
    expect((s.recent ?? []).length).toBeLessThanOrEqual(12);
    // the tumbling windows still say what they said
    expect(s.intervals.map((r) => r / MB)).toEqual([1, 1]);
  });

  it('wal rate - the peak is held while the load stays near it, then for PEAK_HOLD_INTERVALS timeouts, then forgotten with the EMA and the window', () => {
    const busy = steady(0, 60, 5, 20, 0);
    const quiet = steady(60, 300, 5, 0.5, busy.wal);
    const whileBusy = track([[0, 0], ...busy.pts]);
    expect((whileBusy.peak?.rate ?? 0) / MB).toBeCloseTo(20, 6);
    // The sliding rate falls below PEAK_NEAR x 20 MB/s once half its span is quiet (about 75 s); the hold runs 120 s from there.
    const lastNear = 75;
    const holdEnd = lastNear + PEAK_HOLD_INTERVALS * 30;
    const held = track([[0, 0], ...busy.pts, ...quiet.pts.filter(([t]) => t < holdEnd)]);
    expect((held.peak?.rate ?? 0) / MB).toBeCloseTo(20, 6);
    expect(held.peak?.at).toBe(at(lastNear));
    expect((held.ema ?? 0) / MB).toBeGreaterThan(5);
    const gone = track([[0, 0], ...busy.pts, ...quiet.pts.filter(([t]) => t <= holdEnd)]);
    expect((gone.peak?.rate ?? 0) / MB).toBeCloseTo(0.5, 6);
    expect(gone.peak?.at).toBe(at(holdEnd));
    expect(gone.intervals.map((r) => r / MB)).toEqual([expect.closeTo(0.5, 6)]);
    expect((gone.ema ?? 0) / MB).toBeCloseTo(0.5, 6);
    expect(PEAK_NEAR).toBe(0.5);
  });

  it('wal rate - at the regime change a load still near its peak has its peak measured again without the forced checkpoints; a load that eased keeps the held peak', () => {
    // 30 s with forced checkpoints at the start (full-page images: 13 MB/s), then the same load timed only at 10.5 MB/s.
    const inflated = steady(0, 30, 5, 13, 0);
    const clean = steady(30, 90, 5, 10.5, inflated.wal);
    const withForced = (pts: Array<[number, number]>): Array<[number, number, number?]> => pts.map(([t, w]) => (t === 5 ? [t, w, 3] : [t, w]));
    const before = track([[0, 0], ...withForced(inflated.pts)]);
    expect((before.peak?.rate ?? 0) / MB).toBeCloseTo(13, 6);
    const s = track([[0, 0], ...withForced(inflated.pts), ...clean.pts]);
    expect(s.pressuredTail).toBe(0);
    expect((s.peak?.rate ?? 0) / MB).toBeCloseTo(10.5, 6);
    // A burst with forced checkpoints, then quiet: below PEAK_REMEASURE x the peak at the regime change, the peak is held.
    const quiet = steady(30, 90, 5, 0.5, inflated.wal);
    const eased = track([[0, 0], ...withForced(inflated.pts), ...quiet.pts]);
    expect((eased.peak?.rate ?? 0) / MB).toBeCloseTo(13, 6);
    expect(PEAK_REMEASURE).toBeCloseTo(2 / 3, 9);
  });

  it('wal rate - a load at half its peak or more keeps the hold going', () => {
    const busy = steady(0, 60, 5, 20, 0);
    const half = steady(60, 600, 5, 11, busy.wal);
    const s = track([[0, 0], ...busy.pts, ...half.pts]);
    expect((s.peak?.rate ?? 0) / MB).toBeCloseTo(20, 6);
    expect(s.peak?.at).toBe(at(600));
  });

  it('wal rate - WAL-caused checkpoints of the last checkpoint_timeout, with the size they happened at; CHECKPOINT commands remembered', () => {
    const s = track([
      [0, 0],
      [1, MB, 1],
      [2, 2 * MB, 0, 1],
      [20, 3 * MB, 2],
    ]);
    expect(s.forced).toEqual([
      [Date.parse(at(1)), 1, 1024],
      [Date.parse(at(20)), 2, 1024],
    ]);
    expect(s.lastOtherAt).toBe(at(2));
    const later = track([[40, 4 * MB]], 0.2, 30, s);
    // a new tracker run (no previous sample given) forgets; with the previous sample it prunes to the last 30 s
    expect(later.forced).toEqual([]);
    let cont: WalRateState = s;
    cont = trackWal(cont, { at: at(20), walBytes: 3 * MB }, sample({ at: 40, walBytes: 4 * MB, timeout: 30 }), 0.2);
    expect(cont.forced).toEqual([[Date.parse(at(20)), 2, 1024]]);
    expect(cont.lastOtherAt).toBe(at(2));
  });

  it('wal rate - remembers the end of the last sample interval in which a timed checkpoint started', () => {
    let s = trackWal(undefined, null, { ...sample({ at: 0, walBytes: 0, timeout: 30 }), checkpoints_timed: 4 }, 0.2);
    expect(s.lastTimedAt).toBeNull();
    s = trackWal(s, { at: at(0), walBytes: 0 }, { ...sample({ at: 5, walBytes: 5 * MB, timeout: 30 }), checkpoints_timed: 5 }, 0.2);
    expect(s).toMatchObject({ timed: 5, lastTimedAt: at(5) });
    s = trackWal(s, { at: at(5), walBytes: 5 * MB }, { ...sample({ at: 10, walBytes: 10 * MB, timeout: 30 }), checkpoints_timed: 5 }, 0.2);
    expect(s).toMatchObject({ timed: 5, lastTimedAt: at(5) });
  });

  it('wal rate - a state written before these fields existed is read as empty', () => {
    const old: WalRateState = { windowAt: at(0), windowWalBytes: 0, intervals: [5 * MB], ema: 5 * MB, lastRate: 5 * MB, redoBytes: null, sizeMb: 1024 };
    const s = trackWal(old, { at: at(0), walBytes: 0 }, sample({ at: 5, walBytes: 25 * MB, timeout: 30 }), 0.2, 1, 1);
    expect(s).toMatchObject({ forced: [[Date.parse(at(5)), 1, 1024]], lastOtherAt: at(5), peak: null, intervals: [5 * MB] });
    expect(s.recentRate ?? 0).toBeCloseTo(5 * MB, 0);
  });
});

describe('wal rate - the formula', () => {
  it('wal rate - required: the fewest whole segments whose CheckPointSegments - 1 hold one checkpoint_timeout of WAL', () => {
    // 1 MB/s x 300 s = 300 MB = 18.75 segments of 16 MB: CheckPointSegments 20 (19 whole segments > 300 MB) = floor(38 / 1.9)
    expect(requiredSizeMb(MB, sample({ timeout: 300 }))).toBe(38 * 16);
    // No WAL at all still needs CheckPointSegments 2: at 1, every filled segment forces a checkpoint.
    expect(requiredSizeMb(0, sample())).toBe(4 * 16);
    // 64 MB segments: 300 MB = 4.7 segments, CheckPointSegments 6 = floor(12 / 1.9)
    expect(requiredSizeMb(MB, { ...sample({ timeout: 300 }), wal_segment_size_bytes: 64 * MB })).toBe(12 * 64);
  });

  it('wal rate - required is enough and one segment less is not, whatever the rate', () => {
    const seg = 16 * MB;
    for (let perInterval = 0; perInterval <= 2000 * MB; perInterval += 3.7 * MB) {
      const s = sample({ timeout: 30 });
      const mb = requiredSizeMb(perInterval / 30, s);
      expect(mb % 16).toBe(0);
      // XLogCheckpointNeeded: forced once (CheckPointSegments - 1) whole segments follow the redo point's; they must hold the interval's WAL.
      expect((checkpointSegments(mb, 0.9, seg) - 1) * seg).toBeGreaterThan(perInterval);
      expect((checkpointSegments(mb - 16, 0.9, seg) - 1) * seg).toBeLessThanOrEqual(perInterval);
    }
  });

  it('wal rate - CheckPointSegments as PostgreSQL computes it: whole segments in max_wal_size over 1.9, at least 1', () => {
    expect(checkpointSegments(1024, 0.9, 16 * MB)).toBe(33);
    expect(checkpointSegments(32, 0.9, 16 * MB)).toBe(1);
    expect(checkpointSegments(2, 0.9, 16 * MB)).toBe(1);
    // 63 MB holds 3 whole segments (integer division, ConvertToXSegs): 3 / 1.9 -> 1, not 63 / 16 / 1.9 = 2.07 -> 2
    expect(checkpointSegments(63, 0.9, 16 * MB)).toBe(1);
    expect(checkpointSegments(64, 0.9, 16 * MB)).toBe(2);
  });
});

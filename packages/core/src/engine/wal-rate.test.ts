import { assert, describe, expect, it } from 'vitest';
import { at, sample } from '../testing/builders.js';
import { checkpointSegments, MB, requiredSizeMb, trackWal, type WalRateState } from './wal-rate.js';

/** Feeds (seconds, wal bytes) pairs through the tracker with a 30 s checkpoint_timeout. */
function track(points: Array<[number, number, number?]>, alpha = 0.2, timeout = 30): WalRateState {
  let state: WalRateState | undefined;
  let prev: { at: string; walBytes: number } | null = null;
  for (const [sec, wal, forced] of points) {
    state = trackWal(state, prev, sample({ at: sec, walBytes: wal, timeout }), alpha, forced ?? 0);
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

describe('wal rate - the formula', () => {
  it('wal rate - required = (1 + completion_target) x (R x timeout + segment)', () => {
    // 1.9 x (1 MB/s x 300 s + 16 MB) = 600.4 -> 601 MB
    expect(requiredSizeMb(MB, sample({ timeout: 300 }))).toBe(601);
    expect(requiredSizeMb(0, sample())).toBe(Math.ceil(1.9 * 16));
    expect(requiredSizeMb(MB, { ...sample({ timeout: 300 }), wal_segment_size_bytes: 64 * MB })).toBe(Math.ceil(1.9 * 364));
  });

  it('wal rate - CheckPointSegments as PostgreSQL computes it, at least 1', () => {
    expect(checkpointSegments(1024, 0.9, 16 * MB)).toBe(33);
    expect(checkpointSegments(32, 0.9, 16 * MB)).toBe(1);
    expect(checkpointSegments(2, 0.9, 16 * MB)).toBe(1);
  });
});

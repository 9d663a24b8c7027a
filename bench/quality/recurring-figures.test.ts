import { describe, expect, it } from 'vitest';
import type { RunCheckpoint } from './cycles.js';
import { neededMb, type SizingSettings } from './figures.js';
import { recurringGoals } from './goals.js';
import type { Point } from './monitor.js';
import { parseOptions } from './options.js';
import { recurringFigures, type RecurringBatch } from './recurring-figures.js';
import { recurringSchedule, settleSec } from './recurring.js';

const MB = 1024 * 1024;
const S: SizingSettings = { checkpointTimeoutSec: 30, completionTarget: 0.9, segmentBytes: 16 * MB };

/** Two periods of 240 s: a quiet 0.2 MB/s, and 20 MB/s in the batches (100-140 s, 340-380 s); the size as `sizeAt(t)`. */
function run(sizeAt: (t: number) => number): Point[] {
  const out: Point[] = [];
  let wal = 0;
  for (let t = 0; t <= 480; t++) {
    if (t > 0) wal += ((t > 100 && t <= 140) || (t > 340 && t <= 380) ? 20 : 0.2) * MB;
    out.push({ t, requested: 0, timed: 0, walBytes: wal, maxWalSizeMb: sizeAt(t), xacts: t * 10, fpi: t });
  }
  return out;
}

const batches: RecurringBatch[] = [
  { start: 100, end: 140, checkAt: 240 },
  { start: 340, end: 380, checkAt: 480 },
];
/** The CHECKPOINT at 0, one forced by WAL in the first batch, timed ones. */
const checkpoints: RunCheckpoint[] = [
  { t: 0, cause: 'manual', redoLsnBytes: 0 },
  { t: 105, cause: 'wal', redoLsnBytes: null },
  { t: 135, cause: 'time', redoLsnBytes: null },
  { t: 345, cause: 'time', redoLsnBytes: null },
];

describe('bench quality - recurring figures', () => {
  it('per batch - forced during it, the size at its start against its need, the size at the check against the quiet need', () => {
    // Learned in the first batch (grown at 110 s), back to 64 MB at 200 s, ready again at 330 s, back at 420 s.
    const p = run((t) => (t < 110 ? 32 : t < 200 ? 1400 : t < 330 ? 64 : t < 420 ? 1400 : 64));
    const f = recurringFigures(p, checkpoints, batches, S);
    expect(f.map((b) => b.n)).toEqual([1, 2]);
    expect(f.map((b) => b.forced)).toEqual([1, 0]);
    expect(f[0]?.batchRateBytesPerSec).toBeCloseTo(20 * MB);
    expect(f.map((b) => b.batchNeedMb)).toEqual([neededMb(20 * MB, S), neededMb(20 * MB, S)]);
    // The point before the start: 32 MB for the first (not yet seen), 1400 MB for the second.
    expect(f.map((b) => b.atStartMb)).toEqual([32, 1400]);
    expect(f[1]?.quietRateBytesPerSec).toBeCloseTo(0.2 * MB);
    expect(f.map((b) => b.quietNeedMb)).toEqual([neededMb(0.2 * MB, S), neededMb(0.2 * MB, S)]);
    expect(f.map((b) => b.atCheckMb)).toEqual([64, 64]);
    // Judged from the second batch on: three goals, all met.
    const goals = recurringGoals(f, 100);
    expect(goals.map((g) => [g.figure, g.pass])).toEqual([
      ['batch 2: forced checkpoints during it (log: wal)', true],
      ['batch 2: max_wal_size at its start / its need', true],
      ['batch 2: max_wal_size 100 s before the next batch (or at the end) / quiet need', true],
    ]);
  });

  it('goals - not ready at the start, a forced checkpoint, still large at the check: each fails', () => {
    // Never prepared: grown only 10 s into each batch, and the second time kept.
    const p = run((t) => ((t >= 110 && t < 200) || t >= 350 ? 1400 : 64));
    const forced: RunCheckpoint[] = [...checkpoints, { t: 342, cause: 'wal', redoLsnBytes: null }];
    const goals = recurringGoals(recurringFigures(p, forced, batches, S), 180);
    expect(goals.map((g) => [g.measured, g.pass])).toEqual([
      ['1', false],
      [`64 / ${neededMb(20 * MB, S)} MB`, false],
      [`1400 / ${neededMb(0.2 * MB, S)} MB`, false],
    ]);
  });
});

describe('bench quality - recurring schedule', () => {
  const o = (argv: string[]) => {
    const parsed = parseOptions(['--shape', 'recurring', ...argv]);
    if (!parsed) throw new Error('no options');
    return parsed;
  };

  it('batches at the same offset of epoch-aligned periods, after a quiet lead-in', () => {
    const smoke = o(['--period', '240', '--batch', '40', '--days', '2']);
    // 19:17:03: the next boundary + 120 s (19:18:00) leaves less than 60 s of quiet, so the first batch is a period later.
    const s = recurringSchedule(Date.UTC(2026, 11, 7, 19, 17, 3), smoke);
    expect(s.map((b) => new Date(b.startMs).toISOString())).toEqual(['2026-12-07T19:22:00.000Z', '2026-12-07T19:26:00.000Z']);
    for (const b of s) expect((b.startMs / 1000) % 240).toBe(120);
    expect(s.map((b) => (b.endMs - b.startMs) / 1000)).toEqual([40, 40]);
    // Judged min(180, (240 - 40) / 2) = 100 s before the next batch.
    expect(settleSec(smoke)).toBe(100);
    expect(s.map((b) => (b.checkMs - b.startMs) / 1000)).toEqual([140, 140]);
    // With 90 s to go, the batch of this period.
    expect(new Date(recurringSchedule(Date.UTC(2026, 11, 7, 19, 16, 30), smoke)[0]?.startMs ?? 0).toISOString()).toBe('2026-12-07T19:18:00.000Z');
  });

  it('the full run - 4 batches of 120 s at minute 10 of a 20-minute period, judged 3 minutes before the next', () => {
    const full = o([]);
    expect([full.period, full.batch, full.days, full.batchAt]).toEqual([1200, 120, 4, null]);
    const s = recurringSchedule(Date.UTC(2026, 11, 7, 19, 0, 0), full);
    expect(s.map((b) => new Date(b.startMs).toISOString().slice(11, 19))).toEqual(['19:10:00', '19:30:00', '19:50:00', '20:10:00']);
    expect(settleSec(full)).toBe(180);
    expect(new Date(s.at(-1)?.checkMs ?? 0).toISOString().slice(11, 19)).toBe('20:27:00');
    expect(recurringSchedule(Date.UTC(2026, 11, 7, 19, 0, 0), o(['--batch-at', '60']))[0]?.startMs).toBe(Date.UTC(2026, 11, 7, 19, 1, 0));
  });

  it('options - recurring runs only when named; a batch that does not fit its period is a usage error', () => {
    expect(parseOptions([])?.shapes).not.toContain('recurring');
    expect(parseOptions(['--shape', 'daily,recurring'])?.shapes).toEqual(['daily', 'recurring']);
    expect(() => o(['--period', '30'])).toThrow(/--period: not an integer >= 60/);
    expect(() => o(['--period', '240', '--batch', '130'])).toThrow(/--batch: at most half the period/);
    expect(() => o(['--period', '240', '--batch-at', '220'])).toThrow(/--batch-at: the batch must end within its period/);
    expect(() => o(['--days', '1'])).toThrow(/--days/);
  });
});

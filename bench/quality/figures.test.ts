import { describe, expect, it } from 'vitest';
import { burstFigures, calibratedNeedMb, cycleCutoff, dailyFigures, neededMb, stormFigures, steadyFigures, type SizingSettings } from './figures.js';
import { burstGoals, dailyGoals, steadyGoals, stormGoals, verdict } from './goals.js';
import type { RunCheckpoint } from './cycles.js';
import type { Point } from './monitor.js';

const MB = 1024 * 1024;
const S: SizingSettings = { checkpointTimeoutSec: 30, completionTarget: 0.9, segmentBytes: 16 * MB };

/** One point a second from 0 to `seconds`; `at(t)` gives that second's WAL rate (MB/s), size and forced checkpoints; 1000 transactions a second. */
function points(seconds: number, at: (t: number) => { rateMb: number; sizeMb: number; forced?: number }): Point[] {
  const out: Point[] = [];
  let wal = 0;
  let requested = 0;
  for (let t = 0; t <= seconds; t++) {
    const s = at(t);
    if (t > 0) wal += s.rateMb * MB;
    requested += s.forced ?? 0;
    out.push({ t, requested, timed: 0, walBytes: wal, maxWalSizeMb: s.sizeMb, xacts: t * 1000, fpi: t * 10 });
  }
  return out;
}

/** The server log's checkpoints of a run: the CHECKPOINT at 0, the given WAL-forced ones, timed ones every 30 s after the last. */
function checkpointsOf(p: readonly Point[], forcedAt: readonly number[], until: number): RunCheckpoint[] {
  const redo = (t: number): number => p.find((q) => q.t === t)?.walBytes ?? 0;
  const out: RunCheckpoint[] = [{ t: 0, cause: 'manual', redoLsnBytes: redo(0) }, ...forcedAt.map((t): RunCheckpoint => ({ t, cause: 'wal', redoLsnBytes: redo(t) }))];
  for (let t = (forcedAt.at(-1) ?? 0) + 30; t <= until; t += 30) out.push({ t, cause: 'time', redoLsnBytes: redo(t) });
  return out;
}

describe('bench quality figures', () => {
  it("cycles - every arm's window ends by the same whole number of checkpoint_timeouts (+ 5 s), whatever starts right at the load's end", () => {
    // 150 s at 30 s: timed checkpoints near 30, 60, 90, 120 and one due at 150 that may start just before the end.
    expect(cycleCutoff(150, 30)).toBe(125);
    expect(cycleCutoff(90, 30)).toBe(65);
    // Shorter than a checkpoint_timeout and the slack: the load's end.
    expect(cycleCutoff(34, 30)).toBe(34);
    expect(cycleCutoff(15, 30)).toBe(15);
  });

  it('neededMb - the fewest whole segments whose CheckPointSegments - 1 hold one interval of WAL', () => {
    // 300 MB = 18.75 segments: CheckPointSegments 20 = floor(38 / 1.9), 38 x 16 MB
    expect(neededMb(10 * MB, S)).toBe(608);
    // 32 MB exactly: 2 whole segments are not more than it, 3 are: CheckPointSegments 4 = floor(8 / 1.9)
    expect(neededMb(32 * MB / 30, S)).toBe(128);
    // No WAL: CheckPointSegments 2 (at 1 every filled segment forces a checkpoint)
    expect(neededMb(0, S)).toBe(64);
  });

  it('steady - forced checkpoints, relief, first interval, final over needed', () => {
    // 10 MB/s; two forced checkpoints at 2 s and 4 s, grown to 700 MB at 5 s.
    const p = points(150, (t) => ({ rateMb: 10, sizeMb: t < 5 ? 32 : 700, forced: t === 2 || t === 4 ? 1 : 0 }));
    const f = steadyFigures(p, checkpointsOf(p, [2, 4], 150), 150, 1000, S, 5);
    expect(f.forced).toBe(2);
    expect(f.forcedCounter).toBe(2);
    expect(f.reliefSec).toBe(4);
    expect(f.firstIntervalOnly).toBe(true);
    // Whole cycles: from the CHECKPOINT at 0 to the timed one at 124 (4, 34, 64, 94, 124).
    expect(f.cycles?.fromT).toBe(0);
    expect(f.cycles?.toT).toBe(124);
    expect(f.cycles?.cycles).toBe(6);
    expect(f.walPerTxnBytes).toBeCloseTo((124 * 10 * MB) / (124 * 1000));
    expect(f.fpiPerTxn).toBeCloseTo(0.01);
    expect(f.neededMb).toBeCloseTo(neededMb(10 * MB, S));
    expect(f.finalOverNeeded).toBeCloseTo(700 / neededMb(10 * MB, S));
    expect(f.changes).toBe(1);
    const oracle = (ratio: number) => ({ walPerTxnBytes: f.walPerTxnBytes / ratio, tps: f.tps / 2, fpiPerTxn: f.fpiPerTxn * 2 });
    const goals = steadyGoals(f, oracle(1.04));
    expect(goals.map((g) => [g.figure, g.pass])).toEqual([
      ['forced checkpoints (log: wal)', true],
      ['time to relief', false],
      ['WAL per transaction vs the oracle (whole cycles)', false],
      ['final size / needed', true],
    ]);
    // 1.02x is within 0.98x .. 1.03x; 0.97x is a measurement problem, neither met nor failed.
    expect(steadyGoals(f, oracle(1.02))[2]).toMatchObject({ pass: true, measured: "1.020x (TPS 2.00x, FPI/txn 0.50x the oracle's)" });
    const low = steadyGoals(f, oracle(0.97))[2];
    expect(low?.pass).toBe(false);
    expect(low?.problem).toMatch(/measurement problem/);
    expect(verdict({ ...(low ?? { figure: '', goal: '', measured: '', pass: false }), arm: 'adaptive', shape: 'steady' })).toMatch(/^MEASUREMENT PROBLEM/);
  });

  it('steady - the counter counts a CHECKPOINT command, the log does not call it forced', () => {
    const p = points(60, (t) => ({ rateMb: 10, sizeMb: 700, forced: t === 20 ? 1 : 0 }));
    const cps = [...checkpointsOf(p, [], 60), { t: 20, cause: 'manual' as const, redoLsnBytes: 20 * 10 * MB }].sort((a, b) => a.t - b.t);
    const f = steadyFigures(p, cps, 60, 1000, S, 5);
    expect(f.forcedCounter).toBe(1);
    expect(f.forced).toBe(0);
  });

  it('steady - a forced checkpoint after the first sample interval fails the first goal', () => {
    const p = points(60, (t) => ({ rateMb: 10, sizeMb: 32, forced: t === 8 ? 1 : 0 }));
    const f = steadyFigures(p, checkpointsOf(p, [8], 60), 60, 10, S, 5);
    expect(f.firstIntervalOnly).toBe(false);
    expect(steadyGoals(f, null).find((g) => g.figure.startsWith('forced checkpoints'))?.pass).toBe(false);
    expect(steadyGoals(f, null).some((g) => g.figure.includes('oracle'))).toBe(false);
  });

  it('calibration - the need of the rate over the last window, not the warm-up', () => {
    const p = points(40, (t) => ({ rateMb: t <= 20 ? 30 : 8, sizeMb: 8192 }));
    expect(calibratedNeedMb(p, 40, 20, S)).toBeCloseTo(neededMb(8 * MB, S));
  });

  it('bursts - forced in later bursts from their start, size changes from the first start to the last burst end', () => {
    // Bursts at 0-30, 90-120, 180-210; forced at 1 (burst 1), 91 (burst 2), 150 (quiet): one in bursts 2+.
    const p = points(270, (t) => ({
      rateMb: t % 90 < 30 ? 10 : 0,
      sizeMb: t < 5 ? 32 : t < 60 ? 600 : t < 95 ? 100 : t < 240 ? 600 : 300,
      forced: t === 1 || t === 91 || t === 150 ? 1 : 0,
    }));
    const bursts = [0, 90, 180].map((s) => ({ start: s, end: s + 30, quietEnd: s + 90 }));
    const f = burstFigures(p, bursts);
    expect(f.forced).toBe(3);
    expect(f.forcedInLaterBursts).toBe(1);
    // 32->600 at 5, 600->100 at 60, 100->600 at 95: three within 0..210; 600->300 at 240 is after the last burst.
    expect(f.changesOverBursts).toBe(3);
    expect(f.atBurstEnds).toEqual([600, 600, 600]);
    expect(burstGoals(f).map((g) => g.pass)).toEqual([false, true]);
  });

  it('storm - final size over the need of the average WAL rate', () => {
    // 1 MB/s on average with spikes: 4 MB/s every 4th second, 0 otherwise.
    const p = points(120, (t) => ({ rateMb: t % 4 === 0 ? 4 : 0, sizeMb: t < 10 ? 32 : 200 }));
    const f = stormFigures(p, 0, 120, 60, S);
    expect(f.rateBytesPerSec).toBeCloseTo(MB, -3);
    expect(f.needMb).toBeCloseTo(neededMb(MB, S), 0);
    expect(f.finalOverNeed).toBeCloseTo(200 / f.needMb);
    expect(f.peakMb).toBe(200);
    expect(stormGoals(f)[0]?.pass).toBe(false);
  });

  it('daily - forced from the peak on, and when the size came back within 1.5x of the quiet need for good', () => {
    // Quiet need at 0.2 MB/s (6 MB an interval): 64 MB; within 1.5x: 42.7 .. 96 MB.
    const phases = { rampStart: 120, peakStart: 240, rampDownStart: 360, quietStart: 420, end: 600 };
    const p = points(600, (t) => ({
      rateMb: t >= 240 && t < 360 ? 10 : 0.2,
      // shrinks to 70 MB at 470, bounces to 120 at 480, back to 70 at 500 for good
      sizeMb: t < 245 ? 32 : t < 470 ? 700 : t < 480 ? 70 : t < 500 ? 120 : 70,
      forced: t === 242 ? 1 : 0,
    }));
    const f = dailyFigures(p, phases, S);
    expect(f.quietNeedMb).toBeCloseTo(neededMb(0.2 * MB, S));
    expect(f.forcedAfterPeak).toBe(1);
    expect(f.forcedBeforePeak).toBe(0);
    expect(f.backWithinSec).toBe(80);
    expect(f.peakMb).toBe(700);
    expect(dailyGoals(f).map((g) => g.pass)).toEqual([false, true]);
    // Still far above at the end: not back.
    const never = dailyFigures(points(600, (t) => ({ rateMb: 0.2, sizeMb: t < 10 ? 32 : 700 })), phases, S);
    expect(never.backWithinSec).toBeNull();
    expect(dailyGoals(never)[1]?.pass).toBe(false);
  });
});

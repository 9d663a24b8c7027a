import { describe, expect, it } from 'vitest';
import type { RunCheckpoint } from './cycles.js';
import { neededMb, type SizingSettings } from './figures.js';
import { maintenanceGoals } from './goals.js';
import { loadNeedMb, maintenanceFigures } from './maintenance-figures.js';
import type { Point } from './monitor.js';

const MB = 1024 * 1024;
const S: SizingSettings = { checkpointTimeoutSec: 30, completionTarget: 0.9, segmentBytes: 16 * MB };

/** A quiet 0.2 MB/s, and 20 MB/s during the operation from 60 to 80 s; the size as `sizeAt(t)`. */
function run(sizeAt: (t: number) => number, until = 200): Point[] {
  const out: Point[] = [];
  let wal = 0;
  for (let t = 0; t <= until; t++) {
    if (t > 0) wal += (t > 60 && t <= 80 ? 20 : 0.2) * MB;
    out.push({ t, requested: 0, timed: 0, walBytes: wal, maxWalSizeMb: sizeAt(t), xacts: t * 10, fpi: t });
  }
  return out;
}

const times = { loadStart: 60, loadEnd: 80, loadWalBytes: 400 * MB, end: 200, sampleIntervalSec: 5 };

describe('bench quality - maintenance figures', () => {
  it('need of the load - the busiest 30 s around it: all 400 MB of a 20 s operation, and the quiet around it', () => {
    const p = run(() => 64);
    // 10 s of quiet (2 MB) and the 400 MB of the operation fit in one 30 s window.
    expect(loadNeedMb(p, 60, 80, S)).toBe(neededMb((400 + 2) * MB / 30, S));
    // A 1 s operation the points cut short: its exact WAL is the least the need holds.
    expect(loadNeedMb(run(() => 64, 100), 60.4, 61.4, S, 600 * MB)).toBe(neededMb((600 * MB) / 30, S));
  });

  it('figures - forced checkpoints by the load\'s first interval, the size at its end and after, against their needs', () => {
    const need = neededMb((402 * MB) / 30, S);
    const quietNeed = neededMb(0.2 * MB, S);
    const p = run((t) => (t < 62 ? 64 : t < 150 ? need : quietNeed));
    const cps: RunCheckpoint[] = [
      { t: -0.1, cause: 'manual', redoLsnBytes: 0 },
      { t: 20, cause: 'wal', redoLsnBytes: null },
      { t: 61, cause: 'wal', redoLsnBytes: null },
      { t: 64, cause: 'wal', redoLsnBytes: null },
      { t: 90, cause: 'time', redoLsnBytes: null },
    ];
    const f = maintenanceFigures(p, cps, times, S);
    expect(f.forcedBefore).toBe(1);
    // 61 and 64 are within the first interval (60 + 5 + 1 s).
    expect(f.forcedFirstInterval).toBe(2);
    expect(f.forcedAfterFirstInterval).toBe(0);
    expect(f.loadWalBytes).toBe(400 * MB);
    expect(f.finalOverNeed).toBeCloseTo(1);
    expect(f.forLoadMb).toBe(need);
    expect(f.quietNeedMb).toBe(quietNeed);
    expect(f.afterOverQuietNeed).toBeCloseTo(1);
    expect(maintenanceGoals(f, 600).map((g) => g.pass)).toEqual([true, true, true]);
    expect(maintenanceGoals(f, 90)[2]?.figure).toMatch(/--after; the goal says 10 min/);

    // Forced at 70 s (after the first interval), still at the load's size at the end, twice the need for the load.
    const late = maintenanceFigures(run((t) => (t < 62 ? 64 : 2 * need)), [...cps, { t: 70, cause: 'wal', redoLsnBytes: null }], times, S);
    expect(late.forcedAfterFirstInterval).toBe(1);
    expect(late.finalOverNeed).toBeCloseTo(2);
    expect(maintenanceGoals(late, 600).map((g) => g.pass)).toEqual([false, false, false]);
    // An operation over before walrus saw it, grown to 3x its need 10 s later: judged on that growth, not on the size at its end.
    const over = maintenanceFigures(run((t) => (t < 90 ? 64 : 3 * need)), cps, times, S);
    expect(over.atLoadEndMb).toBe(64);
    expect(over.finalOverNeed).toBeCloseTo(3);
  });
});

import { describe, expect, it } from 'vitest';
import { checkpointLines, lsnBytes, parseCheckpointLog } from './checkpoint-log.js';
import { interpolate, largestCycleRate, relativeCheckpoints, walForcedTimes, wholeCycles } from './cycles.js';
import type { Point } from './monitor.js';

// Lines as PostgreSQL 17 logs them (log_line_prefix '%m [%p] ', log_timezone UTC), from a real run.
const LOG = `2026-12-07 17:49:26.535 UTC [9686] LOG:  checkpoints are occurring too frequently (0 seconds apart)
2026-12-07 17:49:26.535 UTC [9686] HINT:  Consider increasing the configuration parameter "max_wal_size".
2026-12-07 17:49:26.637 UTC [9686] LOG:  checkpoint starting: wal
2026-12-07 17:49:26.680 UTC [9686] LOG:  checkpoint complete: wrote 168 buffers (4.1%); 0 WAL file(s) added, 0 removed, 1 recycled; write=0.044 s, sync=0.001 s, total=0.145 s; sync files=0, longest=0.000 s, average=0.000 s; distance=13820 kB, estimate=13820 kB; lsn=0/274D398, redo lsn=0/2257D98
2026-12-07 17:49:26.680 UTC [9686] LOG:  checkpoint starting: immediate force wait
2026-12-07 17:49:26.690 UTC [9699] LOG:  statement: SELECT 1
2026-12-07 17:49:26.721 UTC [9686] LOG:  checkpoint complete: wrote 355 buffers (8.7%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.041 s, sync=0.001 s, total=0.041 s; sync files=0, longest=0.000 s, average=0.000 s; distance=5077 kB, estimate=12946 kB; lsn=0/274D468, redo lsn=0/274D410
2026-12-07 17:49:56.700 UTC [9686] LOG:  checkpoint starting: time
`;

describe('bench quality - checkpoints from the server log', () => {
  it('log - the checkpoint lines, each start with its cause, paired with its completion and redo LSN', () => {
    const lines = checkpointLines(LOG);
    expect(lines).toHaveLength(6);
    const events = parseCheckpointLog(lines);
    expect(events.map((e) => e.cause)).toEqual(['wal', 'manual', 'time']);
    expect(events[1]?.flags).toEqual(['immediate', 'force', 'wait']);
    expect(events[0]?.redoLsnBytes).toBe(0x2257d98);
    expect(events[1]?.redoLsnBytes).toBe(0x274d410);
    expect(events[0]?.startMs).toBe(Date.parse('2026-12-07T17:49:26.637Z'));
    // The last one had not completed when the excerpt was taken.
    expect(events[2]?.redoLsnBytes).toBeNull();
    expect(lsnBytes('1', '0')).toBe(2 ** 32);
  });

  it('log - a line in another time zone is refused rather than misread', () => {
    expect(() => parseCheckpointLog(['2026-12-07 18:49:26.637 CET [9686] LOG:  checkpoint starting: wal'])).toThrow(/log_timezone must be UTC/);
  });

  it('cycles - from the CHECKPOINT at t = 0 to the last checkpoint started in the load: redo LSNs exact, counters interpolated', () => {
    const MB = 1024 * 1024;
    // 10 MB and 1000 transactions a second, 5 full-page images a second.
    const points: Point[] = Array.from({ length: 101 }, (_, t) => ({ t, requested: 0, timed: 0, walBytes: t * 10 * MB, maxWalSizeMb: 700, xacts: t * 1000, fpi: t * 5 }));
    const t0 = Date.parse('2026-12-07T18:00:00Z');
    const at = (t: number, cause: 'wal' | 'time' | 'manual', redo: number | null) => ({ startMs: t0 + t * 1000, flags: [cause], cause, redoLsnBytes: redo, completeMs: null });
    const checkpoints = relativeCheckpoints(
      [at(-0.2, 'manual', 0), at(1.5, 'wal', 15 * MB), at(31.5, 'time', 315 * MB), at(61.5, 'time', 615 * MB), at(91.5, 'time', 915 * MB), at(99.8, 'manual', null)],
      t0,
    );
    expect(walForcedTimes(checkpoints, 0, 100)).toEqual([1.5]);
    expect(interpolate(points, 61.5, 'xacts')).toBe(61500);
    const w = wholeCycles(points, checkpoints, 99.5);
    expect(w).not.toBeNull();
    expect(w?.fromT).toBeCloseTo(-0.2);
    expect(w?.toT).toBeCloseTo(91.5);
    expect(w?.cycles).toBe(4);
    expect(w?.walBytes).toBe(915 * MB);
    // xacts at -0.2 s is the first point's 0: 91,500 transactions.
    expect(w?.walPerTxnBytes).toBeCloseTo((915 * MB) / 91500);
    expect(w?.fpiPerTxn).toBeCloseTo(0.005);
    // The largest whole cycle of at least 15 s: 300 MB in 30 s; the 1.7 s one at the start is left out.
    expect(largestCycleRate(checkpoints, -1, 100, 15)).toBeCloseTo(10 * MB);
    // A load with no checkpoint after the one at t = 0 holds no whole cycle.
    expect(wholeCycles(points, checkpoints.slice(0, 1), 99.5)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { sample } from '../testing/builders.js';
import { boundByDone, classifyCheckpoints } from './checkpoint-causes.js';
import { evaluate } from './evaluate.js';
import { initialState } from './state/current.js';
import { DEFAULT_POLICY } from '../config/params.js';
import { MB } from './wal-rate.js';

const SEG = 16 * MB;
const withRedo = (redo: number, size = 1024) => ({ ...sample({ size }), checkpoint_redo_bytes: redo, wal_segment_size_bytes: SEG });

describe('checkpoint causes - redo distance', () => {
  it('checkpoint causes - a storm of CHECKPOINT commands moves the redo point by less than a segment: none WAL-caused', () => {
    const c = classifyCheckpoints(12, { redoBytes: 100 * SEG, sizeMb: 1024 }, withRedo(100 * SEG + 200_000));
    expect(c).toMatchObject({ requested: 12, walCaused: 0, other: 12, basis: 'redo_distance' });
    expect(c.reason).toContain('CHECKPOINT command');
  });

  it('checkpoint causes - 1024 MB allows 33 segments per checkpoint: 70 segments of redo distance allow 2', () => {
    // CheckPointSegments = floor(64 / 1.9) = 33
    const c = classifyCheckpoints(5, { redoBytes: 10 * SEG, sizeMb: 1024 }, withRedo(80 * SEG));
    expect(c).toMatchObject({ walCaused: 2, other: 3 });
  });

  it('checkpoint causes - all requested ones can be WAL-caused when the distance allows', () => {
    const c = classifyCheckpoints(3, { redoBytes: 0, sizeMb: 32 }, withRedo(40 * SEG, 32));
    expect(c).toMatchObject({ walCaused: 3, other: 0 });
  });

  it('checkpoint causes - the smaller of the two sizes keeps the bound generous after a growth', () => {
    // previous 32 MB (1 segment per checkpoint), now 1024 MB (33): bound from 1.
    expect(classifyCheckpoints(4, { redoBytes: 0, sizeMb: 32 }, withRedo(4 * SEG, 1024)).walCaused).toBe(4);
  });

  it('checkpoint causes - without redo points every requested checkpoint counts as WAL-caused', () => {
    expect(classifyCheckpoints(4, { redoBytes: null, sizeMb: 1024 }, sample())).toMatchObject({ walCaused: 4, other: 0, basis: 'unknown' });
    expect(classifyCheckpoints(4, null, withRedo(0))).toMatchObject({ walCaused: 4, basis: 'unknown' });
    // A redo point going back (restore, another cluster): unknown, not negative.
    expect(classifyCheckpoints(2, { redoBytes: 10 * SEG, sizeMb: 1024 }, withRedo(SEG))).toMatchObject({ walCaused: 2, basis: 'unknown' });
  });

  it('checkpoint causes - a requested checkpoint still running (redo point unchanged) is neither WAL-caused nor other yet, and is judged at the next sample', () => {
    const running = classifyCheckpoints(1, { redoBytes: 10 * SEG, sizeMb: 32 }, withRedo(10 * SEG, 32));
    expect(running).toMatchObject({ requested: 1, walCaused: 0, other: 0, pending: 1 });
    expect(running.reason).toContain('still running');
    // It completes: the redo point moved 3 segments (1 per WAL checkpoint at 32 MB); one more started meanwhile.
    const done = classifyCheckpoints(1, { redoBytes: 10 * SEG, sizeMb: 32, pending: running.pending }, withRedo(13 * SEG, 32));
    expect(done).toMatchObject({ requested: 2, walCaused: 2, other: 0, pending: 0 });
    // A CHECKPOINT command is done when it returns: it moves the redo point, by less than a WAL-forced one needs.
    const manual = classifyCheckpoints(1, { redoBytes: 10 * SEG, sizeMb: 1024, pending: 0 }, withRedo(10 * SEG + 300_000));
    expect(manual).toMatchObject({ walCaused: 0, other: 1, pending: 0 });
  });
});

describe('checkpoint causes - num_done (PostgreSQL 18)', () => {
  it('checkpoint causes - no more WAL-caused checkpoints than were performed; unknown done leaves the count as it was', () => {
    const unknown = classifyCheckpoints(3, null, sample({}));
    expect(boundByDone(unknown, null)).toBe(unknown);
    expect(boundByDone(unknown, 5)).toBe(unknown);
    const bounded = boundByDone(unknown, 1);
    expect(bounded).toMatchObject({ requested: 3, walCaused: 1, other: 2 });
    expect(bounded.reason).toContain('pg_stat_checkpointer.num_done counts 1 checkpoint(s) performed in the interval');
  });

  it('checkpoint causes - the engine remembers num_done and bounds the next interval by it', () => {
    const at = (sec: number, requested: number, done: number) => ({ ...sample({ at: sec, requested }), server_version_num: 180000, checkpoints_done: done });
    const first = evaluate({ state: initialState(), sample: at(0, 0, 10), policy: DEFAULT_POLICY, now: 'x' });
    expect(first.state.prevDone).toBe(10);
    const second = evaluate({ state: first.state, sample: at(300, 4, 11), policy: DEFAULT_POLICY, now: 'x' });
    expect(second.state.prevDone).toBe(11);
    // Four requested, one performed: at most one forced by WAL (the tracker's record of forced checkpoints says so).
    expect(second.state.walRate?.forced?.map(([, n]) => n)).toEqual([1]);
  });
});

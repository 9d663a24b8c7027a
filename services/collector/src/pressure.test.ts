import { DEFAULT_POLICY, type Sample } from '@walrus/core';
import { describe, expect, it } from 'vitest';
import { CALM_SAMPLES_TO_RELIEVE, fastSamplingApplies, PressureBudget, pressureSince, ReliefTracker } from './pressure.js';

const MB = 1024 * 1024;
const T0 = Date.parse('2026-01-05T12:00:00.000Z');

/** A primary with max_wal_size 32 MB, checkpoint_timeout 30 s, completion target 0.9, 16 MB segments. */
function sample(o: { at?: number; walMb?: number; requested?: number; redoMb?: number; size?: number; settings?: Record<string, string> } = {}): Sample {
  return {
    v: 1,
    cluster: 'c',
    collected_at: new Date(T0 + (o.at ?? 0) * 1000).toISOString(),
    server_version_num: 170000,
    in_recovery: false,
    checkpoints_requested: o.requested ?? 0,
    checkpoints_timed: 0,
    stats_reset: null,
    wal_lsn: '0/0',
    wal_bytes: (o.walMb ?? 1000) * MB,
    max_wal_size_mb: o.size ?? 32,
    checkpoint_timeout_s: 30,
    checkpoint_completion_target: 0.9,
    settings: o.settings ?? {},
    checkpoint_redo_bytes: (o.redoMb ?? 992) * MB,
    wal_segment_size_bytes: 16 * MB,
  };
}

const reading = (o: { at: number; walMb: number; requested?: number; redoMb?: number }) => ({
  at: new Date(T0 + o.at * 1000),
  walBytes: o.walMb * MB,
  checkpointsRequested: o.requested ?? 0,
  redoBytes: (o.redoMb ?? 992) * MB,
});

describe('collector pressure - which clusters fast sampling serves', () => {
  it('the formula algorithms only, resolved as a decider resolves them, and not a cluster walrus does not size', () => {
    const adaptive = { ...DEFAULT_POLICY, algorithm: 'adaptive' as const };
    expect(fastSamplingApplies(DEFAULT_POLICY, sample())).toBe(false); // multiplicative by default
    expect(fastSamplingApplies(adaptive, sample())).toBe(true);
    expect(fastSamplingApplies(DEFAULT_POLICY, sample({ settings: { 'walrus.algorithm': 'percentile' } }))).toBe(true);
    expect(fastSamplingApplies(adaptive, sample({ settings: { 'walrus.algorithm': 'additive' } }))).toBe(false);
    expect(fastSamplingApplies(adaptive, sample({ settings: { 'walrus.enable': 'off' } }))).toBe(false);
    // An invalid per-cluster value keeps the default, as in the decider.
    expect(fastSamplingApplies(adaptive, sample({ settings: { 'walrus.algorithm': 'fastest' } }))).toBe(true);
  });

  it('follows the time profile open at the sample time', () => {
    const profiles = JSON.stringify([{ name: 'day', start_hour: 8, end_hour: 20, overrides: { 'walrus.algorithm': 'adaptive' } }]);
    expect(fastSamplingApplies(DEFAULT_POLICY, sample({ settings: { 'walrus.profiles': profiles } }))).toBe(true); // 12:00 UTC
    expect(fastSamplingApplies(DEFAULT_POLICY, sample({ at: 10 * 3600, settings: { 'walrus.profiles': profiles } }))).toBe(false); // 22:00 UTC
  });
});

describe('collector pressure - what a probe calls pressure', () => {
  it('none when the WAL since the last sample fits max_wal_size at its rate', () => {
    // 0.01 MB/s x 30 s = 0.3 MB: CheckPointSegments 2 hold it, 64 MB <= 64 MB.
    expect(pressureSince(sample({ size: 64 }), reading({ at: 10, walMb: 1000.1 }))).toBeNull();
  });

  it('WAL whose rate needs more than max_wal_size', () => {
    // 5 MB/s: 150 MB an interval, 9.4 segments: CheckPointSegments 11 = floor(21 / 1.9), 21 x 16 = 336 MB.
    expect(pressureSince(sample(), reading({ at: 2, walMb: 1010 }))).toMatchObject({ kind: 'projected_wal', needMb: 336, maxWalSizeMb: 32 });
  });

  it('a checkpoint WAL volume forced, but not a CHECKPOINT command', () => {
    // 32 MB / 1.9 = one 16 MB segment per checkpoint: a redo point two segments on is WAL's doing.
    expect(pressureSince(sample(), reading({ at: 20, walMb: 1001, requested: 1, redoMb: 1024 }))).toMatchObject({ kind: 'forced_checkpoints', walCaused: 1 });
    // Same redo segment: the requested checkpoint was somebody's CHECKPOINT, and the WAL is light.
    expect(pressureSince(sample({ size: 1024 }), reading({ at: 20, walMb: 1001, requested: 1, redoMb: 1000 }))).toBeNull();
  });

  it('nothing from counters that went back (statistics reset) or a clock that did', () => {
    expect(pressureSince(sample({ requested: 5, size: 64 }), reading({ at: 10, walMb: 1000, requested: 0 }))).toBeNull();
    expect(pressureSince(sample({ at: 10, size: 64 }), reading({ at: 5, walMb: 1010 }))).toBeNull();
  });
});

describe('collector pressure - relief', () => {
  it(`needs ${CALM_SAMPLES_TO_RELIEVE} calm samples in a row, the rate measured over the whole calm run`, () => {
    const r = new ReliefTracker();
    // Under pressure: 5 MB/s against 32 MB.
    expect(r.next(sample({ at: 0, walMb: 1000 }))).toBe(false);
    expect(r.next(sample({ at: 1, walMb: 1005 }))).toBe(false);
    // The decider grew max_wal_size to 400 MB: calm from here (316 MB needed).
    expect(r.next(sample({ at: 2, walMb: 1010, size: 400 }))).toBe(false);
    expect(r.next(sample({ at: 3, walMb: 1015, size: 400 }))).toBe(false);
    expect(r.next(sample({ at: 4, walMb: 1020, size: 400 }))).toBe(true);
  });

  it('starts over at a forced checkpoint and after a second that needs more than max_wal_size', () => {
    const r = new ReliefTracker();
    r.next(sample({ at: 0, walMb: 1000, size: 400 }));
    expect(r.next(sample({ at: 1, walMb: 1005, size: 400 }))).toBe(false);
    // Forced: the redo point moved 14 segments, 400 MB allows 13 per checkpoint.
    const redoMb = 992 + 14 * 16;
    expect(r.next(sample({ at: 2, walMb: 1010, size: 400, requested: 1, redoMb }))).toBe(false);
    // 15 MB in one second (full-page images after the checkpoint): 886 MB needed.
    expect(r.next(sample({ at: 3, walMb: 1025, size: 400, requested: 1, redoMb }))).toBe(false);
    expect(r.next(sample({ at: 4, walMb: 1027, size: 400, requested: 1, redoMb }))).toBe(false);
    expect(r.next(sample({ at: 5, walMb: 1030, size: 400, requested: 1, redoMb }))).toBe(false);
    expect(r.next(sample({ at: 6, walMb: 1031, size: 400, requested: 1, redoMb }))).toBe(true);
  });

  it('never while the load needs more than max_wal_size', () => {
    const r = new ReliefTracker();
    for (let s = 0; s < 20; s++) expect(r.next(sample({ at: s, walMb: 1000 + 20 * s, size: 400 }))).toBe(false);
  });
});

describe('collector pressure - the per-cluster budget', () => {
  it('at most one pressure sample a second', () => {
    const b = new PressureBudget(600);
    expect(b.take(T0)).toEqual({ ok: true });
    expect(b.take(T0 + 400)).toEqual({ ok: false, waitMs: 600 });
    expect(b.take(T0 + 1000)).toEqual({ ok: true });
  });

  it('at most perHour in any hour, then again as the oldest leave the hour', () => {
    const b = new PressureBudget(3);
    for (const s of [0, 1, 2]) expect(b.take(T0 + s * 1000).ok).toBe(true);
    expect(b.exhausted(T0 + 3000)).toBe(true);
    expect(b.take(T0 + 3000)).toEqual({ ok: false, exhausted: true });
    expect(b.take(T0 + 3_600_000)).toEqual({ ok: true });
    expect(b.take(T0 + 3_601_000 + 500)).toEqual({ ok: true });
    expect(b.exhausted(T0 + 3_601_600)).toBe(true);
    expect(new PressureBudget(0).take(T0)).toEqual({ ok: false, exhausted: true });
  });
});

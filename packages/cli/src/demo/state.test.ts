import { describe, expect, it } from 'vitest';
import { DemoState, type Reading } from './state.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const reading = (s: number, r: Partial<Reading> = {}): Reading => ({
  atMs: T0 + s * 1000,
  maxWalSizeMb: 32,
  requested: 0,
  timed: 0,
  walBytes: s * 4 * 1024 ** 2,
  checkpointTimeoutSec: 30,
  ...r,
});

const decision = (id: string, over: Record<string, unknown> = {}) => ({
  v: 1,
  id,
  cluster: 'demo',
  decided_at: '2026-01-01T00:00:05.000Z',
  sample_at: '2026-01-01T00:00:05.000Z',
  action: 'increase',
  old_size_mb: 32,
  new_size_mb: 64,
  forced_checkpoints: 1,
  checkpoint_timeout_sec: 30,
  algorithm: 'multiplicative',
  reason: '1 forced checkpoints in the interval',
  metadata: {},
  ...over,
});

describe('demo state - phases', () => {
  it('demo state - waiting, then forced, settling, and timed once a timed checkpoint follows a quiet checkpoint_timeout', () => {
    const st = new DemoState({ startedAtMs: T0 });
    st.addReading(reading(0));
    expect(st.snapshot(T0).phase).toBe('waiting');
    st.addReading(reading(4, { requested: 1 }));
    expect(st.snapshot(T0 + 5_000)).toMatchObject({ phase: 'forced', forced: 1, lastForcedAgoMs: 1_000 });
    st.addReading(reading(10, { requested: 1, maxWalSizeMb: 512 }));
    expect(st.snapshot(T0 + 40_000).phase).toBe('settling');
    st.addReading(reading(41, { requested: 1, timed: 1, maxWalSizeMb: 512 }));
    const s = st.snapshot(T0 + 41_000);
    expect(s).toMatchObject({ phase: 'timed', timed: 1, timedSinceLastForced: 1, timedSinceMs: 41_000, sizes: [32, 512] });
    st.addReading(reading(50, { requested: 2, timed: 1, maxWalSizeMb: 512 }));
    expect(st.snapshot(T0 + 50_000)).toMatchObject({ phase: 'forced', timedSinceMs: null, timedSinceLastForced: 0 });
  });

  it('demo state - counts are relative to the first reading; WAL rate over the last seconds', () => {
    const st = new DemoState({ startedAtMs: T0 });
    for (let s = 0; s <= 10; s++) st.addReading(reading(s, { requested: 7 + Math.floor(s / 4), timed: 3 }));
    const snap = st.snapshot(T0 + 10_000);
    expect(snap).toMatchObject({ forced: 2, timed: 0, forcedLastMinute: 2 });
    expect(snap.walBytesPerSec).toBeCloseTo(4 * 1024 ** 2);
    // A statistics reset counts nothing for the step that went backwards.
    st.addReading(reading(11, { requested: 0, timed: 0 }));
    expect(st.snapshot(T0 + 11_000).forcedLastMinute).toBe(2);
  });

  it('demo state - timeline marks forced and timed checkpoints per bucket, blank before the start', () => {
    const st = new DemoState({ startedAtMs: T0, timelineBuckets: 5, timelineBucketMs: 2_000 });
    st.addReading(reading(0));
    st.addReading(reading(3, { requested: 1 }));
    st.addReading(reading(5, { requested: 1, timed: 1 }));
    expect(st.snapshot(T0 + 6_000).timeline).toBe('  ·FT');
  });
});

describe('demo state - events', () => {
  it('demo state - decisions and outcomes are parsed, repeats dropped, others ignored', () => {
    const st = new DemoState({ startedAtMs: T0 });
    const id = '6f1c1c4e-8f7a-5b7e-9d2a-0c1e2f3a4b5c';
    expect(st.addMessage('walrus.decision.demo', decision(id), T0 + 5_000)).toMatchObject({ kind: 'decision', oldMb: 32, newMb: 64, blockedBy: null });
    expect(st.addMessage('walrus.decision.demo', decision(id), T0 + 6_000)).toBeNull();
    expect(st.addMessage('walrus.decision.demo', { nonsense: true }, T0)).toBeNull();
    const applied = { v: 1, decision_id: id, cluster: 'demo', status: 'applied', applied_at: '2026-01-01T00:00:06.000Z', max_wal_size_mb: 64, error: null };
    expect(st.addMessage('walrus.applied.demo', applied, T0 + 6_000)).toMatchObject({ kind: 'applied', status: 'applied', maxWalSizeMb: 64 });
    expect(st.addMessage('walrus.applied.demo', applied, T0 + 7_000)).toBeNull();
    const skipped = decision('7f1c1c4e-8f7a-5b7e-9d2a-0c1e2f3a4b5c', { action: 'skipped', metadata: { blocked_by: 'cooldown' } });
    expect(st.addMessage('walrus.decision.demo', skipped, T0 + 8_000)).toMatchObject({ action: 'skipped', blockedBy: 'cooldown' });
    expect(st.snapshot(T0 + 8_000)).toMatchObject({ decisions: 2, appliedChanges: 1 });
    expect(st.snapshot(T0 + 8_000).events.map((e) => e.kind)).toEqual(['decision', 'applied', 'decision']);
  });
});

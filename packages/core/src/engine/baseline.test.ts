import { describe, expect, it } from 'vitest';
import { baselined, policy, run, sample, evaluateOne } from '../testing/builders.js';
import { initialState } from './state/current.js';

describe('baseline - first samples', () => {
  it('baseline - the first sample decides nothing and stores the counter', () => {
    const r = evaluateOne(initialState(), sample({ requested: 42, at: 0, walBytes: 1000 }));
    expect(r.decision).toBeNull();
    expect(r.outcome.kind).toBe('baseline');
    expect(r.state).toMatchObject({ prevRequested: 42, lastSampleAt: '2025-01-01T00:00:00.000Z', prevWalBytes: 1000 });
  });

  it('baseline - even a huge first counter is not acted on', () => {
    const { results } = run([sample({ requested: 1000, at: 0 }), sample({ requested: 1001, at: 300 })]);
    expect(results.map((r) => r.decision)).toEqual([null, null]);
  });

  it('baseline - a counter that went backwards re-baselines and decides nothing', () => {
    const r = evaluateOne(baselined({ prevRequested: 50 }), sample({ requested: 2, at: 300 }));
    expect(r.decision).toBeNull();
    expect(r.outcome.kind).toBe('rebaseline');
    expect(r.state.prevRequested).toBe(2);
    const next = evaluateOne(r.state, sample({ requested: 5, at: 600, size: 1024 }));
    expect(next.decision).toMatchObject({ action: 'increase', forced_checkpoints: 3 });
  });

  it('baseline - a counter one lower than before also re-baselines', () => {
    const r = evaluateOne(baselined({ prevRequested: 50 }), sample({ requested: 49, at: 300 }));
    expect(r.outcome.kind).toBe('rebaseline');
    expect(r.state.quietIntervals).toBe(0);
  });

  it('baseline - re-baselining keeps the quiet intervals and rate-limit history', () => {
    const before = baselined({ prevRequested: 50, quietIntervals: 3, changesThisHour: 1 });
    const r = evaluateOne(before, sample({ requested: 0, at: 300 }));
    expect(r.state).toMatchObject({ quietIntervals: 3, changesThisHour: 1 });
  });
});

describe('baseline - ordering', () => {
  it('baseline - a sample not newer than the last evaluated one is ignored, state untouched', () => {
    const state = baselined({ lastSampleAt: '2025-01-01T00:05:00.000Z', prevRequested: 0 });
    const same = evaluateOne(state, sample({ requested: 9, at: 300 }));
    expect(same.outcome.kind).toBe('ignored_old_sample');
    expect(same.decision).toBeNull();
    expect(same.state).toBe(state);
    expect(evaluateOne(state, sample({ requested: 9, at: 299 })).outcome.kind).toBe('ignored_old_sample');
    expect(evaluateOne(state, sample({ requested: 9, at: 301 })).outcome.kind).toBe('decision');
  });

  it('baseline - times are compared as instants, whatever their offset', () => {
    const state = baselined({ lastSampleAt: '2025-01-01T00:05:00.000Z' });
    const s = { ...sample({ requested: 9 }), collected_at: '2025-01-01T01:05:00+01:00' };
    expect(evaluateOne(state, s).outcome.kind).toBe('ignored_old_sample');
  });
});

describe('baseline - standby and disabled', () => {
  it('baseline - a standby decides nothing and does not act on its checkpoints once promoted', () => {
    const { results } = run([
      sample({ requested: 0, at: 0 }),
      sample({ requested: 10, at: 300, recovery: true }),
      sample({ requested: 10, at: 600 }),
    ]);
    expect(results.map((r) => r.outcome.kind)).toEqual(['baseline', 'standby', 'no_change']);
    expect(results.map((r) => r.decision)).toEqual([null, null, null]);
    expect(results[1]?.state.prevRequested).toBe(10);
  });

  it('baseline - walrus.enable = off decides nothing, and re-enabling ignores checkpoints counted meanwhile', () => {
    const off = policy({ enable: false });
    const a = evaluateOne(baselined(), sample({ requested: 10, at: 300 }), off);
    expect(a.decision).toBeNull();
    expect(a.outcome.kind).toBe('disabled');
    expect(a.state.prevRequested).toBe(10);
    const b = evaluateOne(a.state, sample({ requested: 10, at: 600 }), policy());
    expect(b.decision).toBeNull();
    expect(b.outcome.kind).toBe('no_change');
    const c = evaluateOne(b.state, sample({ requested: 13, at: 900, size: 1024 }), policy());
    expect(c.decision).toMatchObject({ action: 'increase', forced_checkpoints: 3 });
  });

  it('baseline - disabled intervals neither count as quiet nor reset the quiet run', () => {
    const r = evaluateOne(baselined({ quietIntervals: 3 }), sample({ requested: 0, at: 300 }), policy({ enable: false }));
    expect(r.state.quietIntervals).toBe(3);
  });
});

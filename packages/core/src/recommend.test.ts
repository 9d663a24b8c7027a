import { describe, expect, it } from 'vitest';
import { at as iso, sampleWith } from './testing/builders.js';
import { DEFAULT_POLICY } from './config/params.js';
import { initialState, type ClusterState } from './engine/state/current.js';
import { confidence, recommend } from './recommend.js';
import type { Sample } from './schemas.js';

const sample = (sec: number, requested: number, over: Partial<Sample> = {}): Sample =>
  sampleWith({ cluster: 'c1', collected_at: iso(sec), checkpoints_requested: requested, wal_lsn: '0/1000000', wal_bytes: 1000, ...over });
const state = (over: Partial<ClusterState> = {}): ClusterState => ({ ...initialState(), prevRequested: 5, lastSampleAt: iso(0), ...over });
const base = { cluster: 'c1', sampleSource: 'live' as const, defaults: DEFAULT_POLICY, now: iso(1000) };

describe('recommend - what analyze shows and what analyze --apply carries out (pure)', () => {
  it('recommends the decider’s increase, and names the cooldown that would hold it back', () => {
    const st = state({ lastAdjustmentAt: iso(100), hourWindowStart: iso(100), changesThisHour: 1 });
    const { recommendation, manual } = recommend({ ...base, state: st, sample: sample(300, 8) });
    expect(recommendation).toMatchObject({ action: 'increase', current_size_mb: 1024, recommended_size_mb: 4096, forced_checkpoints: 3, blocked_by: 'cooldown', blocked_until: iso(400) });
    expect(manual?.decision).toMatchObject({ action: 'increase', metadata: expect.objectContaining({ rate_limits_bypassed: true }) });
  });

  it('says capped, none, error and dry run as pg_walrus would', () => {
    expect(recommend({ ...base, state: state(), sample: sample(300, 15) }).recommendation).toMatchObject({ action: 'capped', recommended_size_mb: 4096 });
    expect(recommend({ ...base, state: state(), sample: sample(300, 5) }).recommendation).toMatchObject({ action: 'none', recommended_size_mb: 1024 });
    expect(recommend({ ...base, state: null, sample: sample(300, 5) }).recommendation).toMatchObject({ action: 'none', reason: 'awaiting baseline checkpoint count' });
    expect(recommend({ ...base, state: state(), sample: null }).recommendation).toMatchObject({ action: 'error', confidence: 0 });
    expect(recommend({ ...base, state: state(), sample: sample(300, 9, { settings: { 'walrus.enable': 'off' } }) }).recommendation).toMatchObject({ action: 'error' });
    const dry = recommend({ ...base, state: state(), sample: sample(300, 7, { settings: { 'walrus.dry_run': 'on' } }) });
    expect(dry.recommendation).toMatchObject({ action: 'increase', dry_run: true });
    expect(dry.manual?.decision?.action).toBe('dry_run');
    // A sample the decider has already evaluated tells nothing new.
    expect(recommend({ ...base, sampleSource: 'stream', state: state({ lastSampleAt: iso(300) }), sample: sample(300, 9) }).recommendation).toMatchObject({
      action: 'none',
      reason: expect.stringContaining('WALRUS_CLUSTERS'),
    });
  });

  it('scores confidence like pg_walrus', () => {
    expect(confidence(null, null)).toBe(0);
    expect(confidence(null, sample(0, 50))).toBe(50); // no baseline: at most 50
    expect(confidence(state({ prevRequested: 3 }), sample(0, 4))).toBe(65);
    expect(confidence(state({ prevRequested: 30, quietIntervals: 2 }), sample(0, 40))).toBe(100);
  });
});

import { DEFAULT_POLICY, initialState, type ClusterState, type Sample } from '@walrus/core';
import { describe, expect, it } from 'vitest';
import { at as iso, sampleWith, T0 } from '@walrus/core/testing';
import { clusterStatus, fleetSummary } from './status.js';

const sample = (sec: number, requested: number, over: Partial<Sample> = {}): Sample =>
  sampleWith({ cluster: 'c1', collected_at: iso(sec), checkpoints_requested: requested, wal_lsn: '0/1000000', wal_bytes: 1000, ...over });
const state = (over: Partial<ClusterState> = {}): ClusterState => ({ ...initialState(), prevRequested: 5, lastSampleAt: iso(0), ...over });

describe('control - status (pure)', () => {
  it('judges rate limits at the wall clock and reachability by sample age', () => {
    const st = state({ lastAdjustmentAt: iso(0), hourWindowStart: iso(0), changesThisHour: 4, totalAdjustments: 7 });
    const s = clusterStatus({ cluster: 'c1', state: st, sample: sample(100, 9, { max_wal_size_mb: 4096 }), live: null }, DEFAULT_POLICY, T0 + 200_000);
    expect(s).toMatchObject({
      cooldown_active: true,
      cooldown_remaining_sec: 100,
      changes_this_hour: 4,
      hourly_limit_reached: true,
      at_ceiling: true,
      reachable: true,
      reachable_by: 'sample_age',
      sample_age_sec: 100,
      total_adjustments: 7,
    });
    const later = clusterStatus({ cluster: 'c1', state: st, sample: sample(100, 9), live: null }, DEFAULT_POLICY, T0 + 4000_000);
    expect(later).toMatchObject({ cooldown_active: false, cooldown_remaining_sec: 0, changes_this_hour: 0, hourly_limit_reached: false, reachable: false });
  });

  it('takes a newer applied size as the current one, and sums the fleet', () => {
    const applied = { v: 1 as const, decision_id: '00000000-0000-4000-8000-000000000000', cluster: 'c1', status: 'applied' as const, applied_at: iso(150), max_wal_size_mb: 3072, error: null };
    const a = clusterStatus({ cluster: 'c1', state: null, sample: sample(100, 1), live: { ok: false, error: 'down' }, applied }, DEFAULT_POLICY, T0 + 200_000);
    expect(a).toMatchObject({ current_max_wal_size_mb: 3072, reachable: false, reachable_by: 'live', reachable_error: 'down', has_state: false });
    const b = clusterStatus({ cluster: 'c2', state: null, sample: null, live: null }, DEFAULT_POLICY, T0);
    expect(fleetSummary([a, b])).toMatchObject({ clusters: 2, reachable: 0, unreachable: 1, unknown: 1 });
  });
});

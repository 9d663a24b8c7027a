import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../config/params.js';
import type { ReplicationSlot } from '../disk-schemas.js';
import { DecisionV1, type Sample } from '../schemas.js';
import { at, baselined, policy, sample, T0 } from '../testing/builders.js';
import { decisionId } from './decision-id.js';
import { initialState, type ClusterState } from './state/current.js';
import { readClusterState } from './state/read.js';
import { manualStep, step, type StepResult } from './step.js';

const MB = 1024 * 1024;
const SKEW_MS = 300_000;
const defaults = policy({ cooldownSec: 300, maxChangesPerHour: 4 });

/** One sample as the decider steps it: its own clock and JetStream's at the sample's time (hosts in step), stream sequence `seq`. */
function stepAt(state: ClusterState, s: Sample, seq: number, extra: { nowMs?: number; storedAtMs?: number; defaults?: typeof defaults } = {}): StepResult {
  const t = Date.parse(s.collected_at);
  return step({ state, sample: s, defaults: extra.defaults ?? defaults, nowMs: extra.nowMs ?? t, maxSkewMs: SKEW_MS, stored: { seq, atMs: extra.storedAtMs ?? t } });
}

/** Steps samples in order (sequence 1, 2, …), returning every result. */
function steps(samples: Sample[], from = initialState(), d = defaults): StepResult[] {
  const out: StepResult[] = [];
  let state = from;
  samples.forEach((s, i) => {
    const r = stepAt(state, s, i + 1, { defaults: d });
    out.push(r);
    state = r.state;
  });
  return out;
}

const slot = (name: string, mb: number): ReplicationSlot => ({ name, type: 'physical', active: false, wal_status: 'extended', retained_bytes: mb * MB, safe_wal_size_bytes: null });

describe('step - the decider’s work on one sample, without NATS', () => {
  it('step - the policy is the service defaults under the cluster’s own settings; an invalid one is a warning and keeps the default', () => {
    const r = stepAt(baselined(), sample({ at: 300, requested: 3, settings: { 'walrus.max': '2GB', 'walrus.threshold': 'lots' } }), 7);
    expect(r.policy).toMatchObject({ maxMb: 2048, threshold: defaults.threshold });
    expect(r.warnings.map((w) => w.parameter)).toEqual(['walrus.threshold']);
    expect(r.decision).toMatchObject({ action: 'capped', new_size_mb: 2048, forced_checkpoints: 3, metadata: { walrus_max_mb: 2048 } });
    expect(r.readings).toMatchObject({ maxWalSizeMb: 1024, maxAllowedMb: 2048, forcedCheckpoints: 3 });
  });

  it('step - every evaluated sample records its stream position and stored time, which the next evaluation goes on from', () => {
    const [first, second] = steps([sample({ at: 0 }), sample({ at: 300, requested: 3 })]);
    expect(first?.state).toMatchObject({ sampleSeq: 1, lastSampleStoredAt: at(0), prevRequested: 0 });
    expect(first?.outcome.kind).toBe('baseline');
    expect(second?.state).toMatchObject({ sampleSeq: 2, lastSampleStoredAt: at(300), prevRequested: 3, totalAdjustments: 1 });
    expect(second?.decision?.id).toBe(decisionId('pg-test', at(300)));
  });

  it('step - a sample dated too far ahead is never evaluated: only its stream position moves on', () => {
    const before = baselined({ sampleSeq: 4 });
    const r = stepAt(before, sample({ at: 3600, requested: 9 }), 5, { nowMs: T0 + 600_000 });
    expect(r.outcome.kind).toBe('clock_ahead');
    expect(r.outcome.reason).toMatch(/^clock ahead: /);
    expect(r.state).toEqual({ ...before, sampleSeq: 5 });
    expect([r.decision, r.readings, r.insight, r.alerts, r.warnings]).toEqual([null, null, null, [], []]);
  });

  it('step - a sample not newer than the last one is ignored: its stream position moves on, nothing else', () => {
    const before = baselined({ sampleSeq: 4, lastSampleAt: at(300), lastSampleStoredAt: at(300) });
    const r = stepAt(before, sample({ at: 300, requested: 9 }), 5);
    expect(r.outcome.kind).toBe('ignored_old_sample');
    expect(r.state).toEqual({ ...before, sampleSeq: 5 });
    expect(r.readings).toBeNull();
  });

  it('step - a collector clock that went back re-baselines the cluster, and says why', () => {
    const before = baselined({ prevRequested: 10, lastSampleAt: at(600), prevWalBytes: 0, lastSampleStoredAt: at(600) });
    // Dated 5 minutes before the last one, but stored an hour after it.
    const r = stepAt(before, sample({ at: 300, requested: 12 }), 9, { nowMs: T0 + 4200_000, storedAtMs: T0 + 4200_000 });
    expect(r.outcome.kind).toBe('baseline');
    expect(r.clockWentBack).toMatch(/^clock went back: /);
    expect(r.state).toMatchObject({ prevRequested: 12, lastSampleAt: at(300), lastSampleStoredAt: new Date(T0 + 4200_000).toISOString() });
    // Within the tolerance it is a reordering: ignored.
    expect(stepAt(before, sample({ at: 550, requested: 12 }), 9, { storedAtMs: T0 + 610_000, nowMs: T0 + 610_000 }).outcome.kind).toBe('ignored_old_sample');
  });

  it('step - an alert is raised once, recorded in the state, and resolved once', () => {
    const budget = { 'walrus.wal_disk_budget': '1GB' };
    const disk = (sec: number, slotMb: number) => ({ ...sample({ at: sec, settings: budget }), replication_slots: [slot('s1', slotMb)], replication_slot_count: 1 });
    const [quiet, raised, still, cleared] = steps([disk(0, 100), disk(300, 900), disk(600, 950), disk(900, 200)]);
    expect(quiet?.alerts).toEqual([]);
    expect(raised?.alerts).toMatchObject([{ kind: 'slot_retention', state: 'firing', slot: 's1', at: at(300) }]);
    expect(raised?.state.alerts).toEqual({ firing: { 'slot_retention:s1': { since: at(300) } } });
    expect(still?.alerts).toEqual([]);
    expect(cleared?.alerts).toMatchObject([{ kind: 'slot_retention', state: 'resolved' }]);
    expect(cleared?.state.alerts).toEqual({ firing: {} });
    expect(raised?.readings?.disk).toEqual({ budgetBytes: 1024 * MB, slots: [['s1', 900 * MB]], lostSlots: [] });
  });

  it('step - a standby member’s sample neither raises nor resolves the cluster’s alerts, nor counts its size, checkpoints or disk', () => {
    const A = 'db1:5432';
    const B = 'db2:5433';
    const budget = { 'walrus.wal_disk_budget': '1GB' };
    const [, , standby] = steps([
      sample({ at: 0, member: A, timeline: 1 }),
      { ...sample({ at: 300, member: A, timeline: 1, requested: 1, settings: budget }), pg_wal_bytes: 900 * MB },
      { ...sample({ at: 301, member: B, timeline: 1, recovery: true, requested: 400, settings: budget }), pg_wal_bytes: 10 * MB },
    ]);
    expect(standby?.outcome.kind).toBe('standby');
    expect(standby?.alerts).toEqual([]);
    expect(Object.keys(standby?.state.alerts.firing ?? {})).toEqual(['wal_disk_budget']);
    expect(standby?.readings).toEqual({ sampleAt: at(301), maxWalSizeMb: null, maxAllowedMb: null, forcedCheckpoints: 0, disk: null });
    // Its stored time is not the cluster's: the clock check goes on comparing with the primary's.
    expect(standby?.state.lastSampleStoredAt).toBe(at(300));
  });

  it('step - a change of time profile is said once, when it happens', () => {
    const profiles = JSON.stringify([{ name: 'morning', start_hour: 0, end_hour: 1 }]);
    const settings = { 'walrus.profiles': profiles };
    const rs = steps([sample({ at: 0, settings }), sample({ at: 1800, settings }), sample({ at: 3600, settings }), sample({ at: 5400, settings })]);
    expect(rs.map((r) => r.profileChange)).toEqual([{ from: null, to: 'morning' }, null, { from: 'morning', to: null }, null]);
    expect(rs.map((r) => r.state.activeProfile)).toEqual(['morning', 'morning', null, null]);
  });

  it('step - decisions carry their typed fields (valid version-1 decisions), with copies in metadata', () => {
    const A = 'db1:5432';
    const [, grown] = steps([sample({ at: 0, member: A, timeline: 1 }), sample({ at: 300, member: A, timeline: 1, requested: 3 })]);
    const d = grown?.decision;
    expect(d).toMatchObject({ action: 'increase', primary_member: A, sizing_status: { active_profile: null } });
    expect(d?.target_member).toBeUndefined();
    expect(d?.metadata).toMatchObject({ primary_member: A, sizing_status: d?.sizing_status });
    expect(DecisionV1.parse(d)).toEqual(d);
    expect(grown?.change).toEqual({ action: 'increase', targetMb: 4096, blocked: null, dryRun: false });
  });

  it('step - a blocked change is typed as such beside the skipped decision', () => {
    const [, , , blocked] = steps([sample({ at: 0 }), sample({ at: 300, requested: 3 }), sample({ at: 400, requested: 3, size: 4096 }), sample({ at: 500, requested: 6, size: 1024 })]);
    expect(blocked?.decision).toMatchObject({ action: 'skipped', metadata: { blocked_by: 'cooldown' } });
    expect(blocked?.change).toEqual({ action: 'increase', targetMb: 4096, blocked: { by: 'cooldown', until: at(600) }, dryRun: false });
  });

  it('step - the same samples give the same decisions and alerts, whether the state is kept in memory or saved and read back between samples', () => {
    const budget = { 'walrus.wal_disk_budget': '4GB', 'walrus.algorithm': 'adaptive' };
    const samples = [0, 300, 600, 900, 1200, 1500].map((sec, i) => ({
      ...sample({ at: sec, requested: [0, 0, 4, 9, 9, 9][i] ?? 0, walBytes: i * 600 * MB, settings: budget }),
      pg_wal_bytes: ([1, 1, 4, 3.5, 2, 1][i] ?? 1) * 1024 * MB,
    }));
    const straight = steps(samples, initialState(), DEFAULT_POLICY);
    let state = initialState();
    const saved = samples.map((s, i) => {
      const r = stepAt(state, s, i + 1, { defaults: DEFAULT_POLICY });
      const back = readClusterState(JSON.parse(JSON.stringify(r.state)));
      if (!back.ok) throw new Error(back.reason);
      state = back.state;
      return r;
    });
    expect(saved.map((r) => [r.decision, r.alerts])).toEqual(straight.map((r) => [r.decision, r.alerts]));
    expect(straight.flatMap((r) => (r.decision ? [r.decision.action] : []))).not.toEqual([]);
    expect(straight.flatMap((r) => r.alerts.map((a) => `${a.kind} ${a.state}`))).toEqual([
      'wal_disk_budget firing',
      // pg_wal grew 3 GB in 300 s against a 4 GB budget: full now, by pg_wal's own trend; resolved once it shrinks.
      'wal_disk_forecast firing',
      'wal_disk_budget resolved',
      'wal_disk_forecast resolved',
    ]);
  });
});

describe('manualStep - analyze with apply', () => {
  it('manualStep - bypasses the rate limits, says which one an automatic change would meet, and counts as a change', () => {
    const inCooldown = baselined({ lastAdjustmentAt: at(200), hourWindowStart: at(200), changesThisHour: 1, sampleSeq: 3 });
    const r = manualStep({ state: inCooldown, sample: sample({ at: 300, requested: 3 }), defaults, nowMs: T0 + 310_000, storedAtMs: null });
    expect(r.decision).toMatchObject({ action: 'increase', new_size_mb: 4096, metadata: { rate_limits_bypassed: true } });
    expect(r.automaticBlock).toEqual({ by: 'cooldown', until: at(500) });
    expect(r.state).toMatchObject({ lastAdjustmentAt: at(300), changesThisHour: 2, totalAdjustments: 1 });
    // A live sample was never stored: now is when it would have been. The stream position is the collector's samples' alone.
    expect(r.state.lastSampleStoredAt).toBe(new Date(T0 + 310_000).toISOString());
    expect(r.state.sampleSeq).toBe(3);
  });

  it('manualStep - leaves the alerts to the collector’s samples', () => {
    const s = { ...sample({ at: 300, settings: { 'walrus.wal_disk_budget': '1GB' } }), pg_wal_bytes: 1000 * MB };
    const r = manualStep({ state: baselined(), sample: s, defaults, nowMs: T0 + 300_000, storedAtMs: T0 + 300_500 });
    expect(r.alerts).toEqual([]);
    expect(r.state.alerts).toEqual({ firing: {} });
    expect(r.state.lastSampleStoredAt).toBe(new Date(T0 + 300_500).toISOString());
    expect(stepAt(baselined(), s, 1).alerts).toHaveLength(1);
  });
});

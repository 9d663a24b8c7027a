import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../config/params.js';
import { STATE_SCENARIOS } from '../../testing/state-scenarios.js';
import { step } from '../step.js';
import { CLUSTER_STATE_VERSION, ClusterStateV2, type ClusterState } from './current.js';
import { readClusterState } from './read.js';
import { ClusterStateV1 } from './v1.js';

const DIR = new URL('./fixtures/', import.meta.url);
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(name, DIR), 'utf8'));
const FILES = readdirSync(DIR).filter((f) => /^v\d+-[a-z-]+\.json$/.test(f));
const versionOf = (file: string): number => Number(/^v(\d+)-/.exec(file)?.[1]);

function read(json: unknown): ClusterState {
  const r = readClusterState(json);
  if (!r.ok) throw new Error(r.reason);
  return r.state;
}

/** The decider's bookkeeping of one run (its stream's sequences, its clock): not what a version means. */
function withoutBookkeeping(s: ClusterState): Omit<ClusterState, 'sampleSeq' | 'lastSampleStoredAt'> {
  const { sampleSeq: _seq, lastSampleStoredAt: _stored, ...rest } = s;
  return rest;
}

describe('state versions - every version a decider wrote is read', () => {
  it('state versions - there are fixtures of every version up to the current one, for every scenario', () => {
    for (let v = 1; v <= CLUSTER_STATE_VERSION; v++) {
      for (const s of STATE_SCENARIOS) expect(FILES, `v${v}-${s.name}.json`).toContain(`v${v}-${s.name}.json`);
    }
  });

  it.each(FILES)('state versions - %s is read as the current version, nothing dropped', (file) => {
    const r = readClusterState(fixture(file));
    expect(r).toMatchObject({ ok: true, from: versionOf(file), dropped: [] });
    if (r.ok) expect(ClusterStateV2.parse(JSON.parse(JSON.stringify(r.state)))).toEqual(r.state);
  });

  it.each(STATE_SCENARIOS.map((s) => s.name))('state versions - %s: each earlier version is upgraded to what the current decider wrote for the same samples', (name) => {
    const current = withoutBookkeeping(read(fixture(`v${CLUSTER_STATE_VERSION}-${name}.json`)));
    for (let v = 1; v < CLUSTER_STATE_VERSION; v++) expect(withoutBookkeeping(read(fixture(`v${v}-${name}.json`)))).toEqual(current);
  });

  it('state versions - v1 kept the engine’s parts in algo; they move to named fields, algo keeps the algorithms’ own', () => {
    const v1 = ClusterStateV1.parse(fixture('v1-adaptive.json'));
    const up = read(v1);
    expect(up.walRate).toEqual(v1.algo['wal_rate']);
    expect(up.algo).toEqual({ adaptive: v1.algo['adaptive'] });
    expect(up.activeProfile).toBeNull();
    expect(read(fixture('v1-multiplicative.json')).activeProfile).toBe('always');
    const disk = ClusterStateV1.parse(fixture('v1-disk.json'));
    expect(read(disk)).toMatchObject({ disk: { slotMb: 850 }, alerts: disk.algo['alerts'] });
    const members = ClusterStateV1.parse(fixture('v1-members.json'));
    expect(read(members)).toMatchObject({ members: members.members, primary: members.primary, learned: members.learned, counterMember: members.counterMember, failovers: 1 });
  });

  it('state versions - a v1 state from before the optional fields existed (no sampleSeq, no members, an empty algo)', () => {
    const oldest = {
      v: 1,
      prevRequested: 7,
      quietIntervals: 1,
      lastAdjustmentAt: null,
      hourWindowStart: null,
      changesThisHour: 0,
      totalAdjustments: 0,
      lastSampleAt: '2025-01-01T00:00:00.000Z',
      prevWalBytes: null,
      algo: {},
    };
    expect(readClusterState(oldest)).toEqual({
      ok: true,
      from: 1,
      dropped: [],
      state: { ...oldest, v: 2, walRate: null, activeProfile: null, disk: null, alerts: { firing: {} }, algo: {} },
    });
  });

  it('state versions - a part of a v1 state that does not pass its check is dropped alone, and named', () => {
    const v1 = ClusterStateV1.parse(fixture('v1-disk.json'));
    const damaged = {
      ...v1,
      algo: { ...v1.algo, wal_rate: { windowAt: 'yesterday' }, alerts: { firing: { wal_disk_budget: { since: 'later' }, archiver_failing: { since: '2026-01-10T10:01:00.000Z' } } }, extra: 1 },
    };
    const r = readClusterState(damaged);
    expect(r).toMatchObject({ ok: true, from: 1, dropped: ['algo.wal_rate', 'algo.alerts.firing.wal_disk_budget', 'algo.extra'] });
    if (!r.ok) return;
    expect(r.state.walRate).toBeNull();
    expect(r.state.alerts).toEqual({ firing: { archiver_failing: { since: '2026-01-10T10:01:00.000Z' } } });
    expect(r.state.disk).toEqual({ slotMb: 850 });
    // A book that is not one at all: nothing firing (what fires is raised again at the next sample).
    expect(readClusterState({ ...v1, algo: { alerts: { firing: 'nonsense' } } })).toMatchObject({ ok: true, dropped: ['algo.alerts'], state: { alerts: { firing: {} } } });
  });

  it('state versions - a newer version, an unknown one and what is no state at all are refused, saying which', () => {
    const current = read(fixture(`v${CLUSTER_STATE_VERSION}-disk.json`));
    expect(readClusterState({ ...current, v: CLUSTER_STATE_VERSION + 1 })).toMatchObject({ ok: false, newer: true });
    expect(readClusterState({ ...current, v: 0 })).toMatchObject({ ok: false, newer: false, reason: 'unknown state version 0' });
    expect(readClusterState({ ...current, extra: 1 })).toMatchObject({ ok: false, newer: false });
    expect(readClusterState({ ...current, walRate: { intervals: 'many' } })).toMatchObject({ ok: false, reason: expect.stringContaining('walRate') });
    expect(readClusterState(null)).toMatchObject({ ok: false, reason: 'no state version (v)' });
    expect(readClusterState('{}')).toMatchObject({ ok: false });
  });

  it('state versions - the decider goes on from an upgraded state as from the one it would have written', () => {
    const actions: string[] = [];
    for (const scenario of STATE_SCENARIOS) {
      const last = scenario.samples.at(-1);
      if (!last) continue;
      const next = { ...last, collected_at: new Date(Date.parse(last.collected_at) + 60_000).toISOString(), checkpoints_requested: last.checkpoints_requested + 4 };
      const from = (file: string) => step({ state: read(fixture(file)), sample: next, defaults: DEFAULT_POLICY, nowMs: Date.parse(next.collected_at), maxSkewMs: 300_000, stored: { seq: 1000, atMs: Date.parse(next.collected_at) } });
      const a = from(`v1-${scenario.name}.json`);
      const b = from(`v${CLUSTER_STATE_VERSION}-${scenario.name}.json`);
      expect(a.decision, scenario.name).toEqual(b.decision);
      expect(a.alerts, scenario.name).toEqual(b.alerts);
      expect(withoutBookkeeping(a.state)).toEqual(withoutBookkeeping(b.state));
      actions.push(`${scenario.name}: ${a.decision?.action ?? a.outcome.kind}`);
    }
    // Four forced checkpoints a minute later: decisions too, not only quiet intervals (the comparison above is not vacuous).
    expect(actions).toEqual(['multiplicative: no_change', 'adaptive: no_change', 'members: skipped', 'disk: capped']);
  });
});

import { writeFileSync } from 'node:fs';
import { Kvm } from '@nats-io/kv';
import { CLUSTER_STATE_VERSION, readClusterState, sampleMsgId, type Sample } from '@walrus/core';
import { STATE_SCENARIOS } from '@walrus/core/testing/state-scenarios';
import { decider } from '@walrus/decider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, waitFor, type NatsServer } from './harness/mod.js';
import { publishJs, startInProcess, type InProcessService } from './harness/in-process.js';

// ARCHITECTURE §8: a decider reads every state version it ever wrote and
// writes the newest. The fixtures of each version (packages/core/src/engine/
// state/fixtures/) are what a real decider of that version stored in
// walrus_state for the scenarios of @walrus/core/testing/state-scenarios;
// core's unit tests read them. This file runs the same scenarios through
// today's decider and checks what it stores; with
// WALRUS_WRITE_STATE_FIXTURES=1 it also writes them as the fixtures of the
// current version (do so when the version changes, and commit them).
const FIXTURES = new URL('../packages/core/src/engine/state/fixtures/', import.meta.url);
const WRITE = process.env['WALRUS_WRITE_STATE_FIXTURES'] === '1';

let nats: NatsServer;
let svc: InProcessService;
const stored = new Map<string, unknown>();

beforeAll(async () => {
  nats = await startNats();
  const env = STATE_SCENARIOS[0]?.env ?? {};
  svc = await startInProcess(decider, env, nats.url);
  const kv = await new Kvm(svc.nc).open('walrus_state');
  for (const scenario of STATE_SCENARIOS) {
    if (JSON.stringify(scenario.env) !== JSON.stringify(env)) throw new Error(`scenario ${scenario.name} needs a decider of its own`);
    for (const s of scenario.samples) await publishJs(svc.nc, `walrus.sample.${s.cluster}`, s, `${sampleMsgId(s.cluster, s.collected_at)}:${s.member ?? ''}`);
    const cluster = scenario.samples[0]?.cluster ?? '';
    const last = scenario.samples.at(-1);
    // Saved once the last sample is evaluated: its time is the member's (or the cluster's) last sample time.
    const json = await waitFor(
      async () => {
        const value: unknown = (await kv.get(cluster))?.json();
        const read = readClusterState(value);
        return read.ok && last && lastSampleOf(read.state, last) === Date.parse(last.collected_at) ? value : null;
      },
      { what: `the state of scenario ${scenario.name} after its last sample` },
    );
    stored.set(scenario.name, json);
    if (WRITE) writeFileSync(new URL(`v${CLUSTER_STATE_VERSION}-${scenario.name}.json`, FIXTURES), JSON.stringify(json, null, 2) + '\n');
  }
});

afterAll(async () => {
  await svc?.stop();
  await cleanupAll();
});

function lastSampleOf(state: { lastSampleAt: string | null; members?: Record<string, { lastSampleAt: string }> }, s: Sample): number | null {
  const at = s.member !== undefined ? state.members?.[s.member]?.lastSampleAt : state.lastSampleAt;
  return at === undefined || at === null ? null : Date.parse(at);
}

describe('state versions - what the decider stores is the current version, with every part named', () => {
  it('every scenario is stored in the current version and read back as it is', () => {
    for (const scenario of STATE_SCENARIOS) {
      const read = readClusterState(stored.get(scenario.name));
      expect(read, scenario.name).toMatchObject({ ok: true, from: CLUSTER_STATE_VERSION, dropped: [] });
    }
  });

  it('each part lives in its named field; algo holds only the algorithms’ own state', () => {
    const state = (name: string) => {
      const read = readClusterState(stored.get(name));
      if (!read.ok) throw new Error(read.reason);
      return read.state;
    };
    const multiplicative = state('multiplicative');
    expect(multiplicative.activeProfile).toBe('always');
    expect(multiplicative.walRate?.intervals.length).toBeGreaterThan(0);
    expect(multiplicative.algo).toEqual({});
    expect(state('adaptive').algo).toEqual({ adaptive: { busyAt: expect.any(String) } });
    expect(state('members')).toMatchObject({ counterMember: 'db2:5433', primary: { member: 'db2:5433', timeline: 2 }, failovers: 1, learned: { sizeMb: 320 } });
    const disk = state('disk');
    expect(disk.disk).toEqual({ slotMb: 850 });
    // The slot grows towards the 1 GB budget: the forecast fires too, and its trends are a named (optional) field.
    expect(Object.keys(disk.alerts.firing).sort()).toEqual(['archiver_failing', 'slot_retention:s1', 'wal_disk_budget', 'wal_disk_forecast']);
    expect(disk.forecast?.slot).toMatchObject({ name: 's1', bytes: 850 * 1024 * 1024 });
  });
});

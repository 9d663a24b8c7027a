import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { decider } from '@walrus/decider';
import { ClusterStateV2, decisionId, type Sample } from '@walrus/core';
import { sampleWith } from '@walrus/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, type NatsServer } from './harness/mod.js';
import { publishJs, type InProcessService } from './harness/in-process.js';
import { inProcessPerTest } from './harness/per-test.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

let nats: NatsServer;
let watch: SubjectWatch;
const start = inProcessPerTest(() => nats.url);

beforeAll(async () => {
  nats = await startNats();
  watch = await SubjectWatch.open(nats.url, ['walrus.decision.>']);
});
afterAll(async () => {
  await watch?.close();
  await cleanupAll();
});

const startDecider = (env: Record<string, string> = {}) => start(decider, env);

const T0 = Date.parse('2026-11-25T10:00:00Z');
function sample(cluster: string, minute: number, requested: number, over: Partial<Sample> = {}): Sample {
  const collected_at = new Date(T0 + minute * 60_000).toISOString();
  return sampleWith({ cluster, collected_at, checkpoints_requested: requested, checkpoints_timed: minute, wal_lsn: '0/1000000', wal_bytes: 16777216, ...over });
}

const send = (s: InProcessService, x: Sample) => publishJs(s.nc, `walrus.sample.${x.cluster}`, x, `${x.cluster}:${Date.parse(x.collected_at)}`);

describe('decider - state in walrus_state survives restarts; decisions are deterministic', () => {
  it('carries the baseline over a restart and decides from it', async () => {
    const first = await startDecider();
    await send(first, sample('keep', 0, 10));
    const kv = await new Kvm(first.nc).open('walrus_state');
    await expect.poll(async () => (await kv.get('keep'))?.json<{ prevRequested: number }>()?.prevRequested, { timeout: 10_000 }).toBe(10);
    // The forced-checkpoint counter exists from the baseline on, so that increase() sees the first ones.
    await expect.poll(() => first.registry.metrics(), { timeout: 10_000 }).toMatch(/^walrus_forced_checkpoints_total\{cluster="keep",service="decider"\} 0$/m);
    await first.stop();

    const second = await startDecider();
    await send(second, sample('keep', 5, 13));
    const d = await watch.next('walrus.decision.keep', () => true, 'a decision after the restart');
    expect(d).toMatchObject({ action: 'increase', old_size_mb: 1024, new_size_mb: 4096, forced_checkpoints: 3 });
    expect(d.id).toBe(decisionId('keep', sample('keep', 5, 13).collected_at));
    // State is saved after the decision is published: wait for it.
    const kv2 = await new Kvm(second.nc).open('walrus_state');
    await expect
      .poll(async () => ClusterStateV2.parse(defined(await kv2.get('keep')).json()), { timeout: 10_000 })
      .toMatchObject({ prevRequested: 13, totalAdjustments: 1, changesThisHour: 1 });
  });

  it('ignores a redelivered (older) sample and publishes nothing twice', async () => {
    const s = await startDecider();
    await send(s, sample('dup', 0, 0));
    await send(s, sample('dup', 5, 4));
    await watch.next('walrus.decision.dup', () => true, 'the increase');
    // The same sample again under another message id, as after a crash.
    await publishJs(s.nc, 'walrus.sample.dup', sample('dup', 5, 4), 'replayed');
    await send(s, sample('dup', 10, 4));
    await expect.poll(async () => /walrus_samples_evaluated_total\{outcome="ignored_old_sample",service="decider"\} 1/.test(await s.registry.metrics()), { timeout: 10_000 }).toBe(true);
    expect(watch.on('walrus.decision.dup')).toHaveLength(1);
  });

  it('applies the service defaults and the cluster’s own overrides', async () => {
    const s = await startDecider({ WALRUS_THRESHOLD: '5', WALRUS_MAX: '2GB' });
    await send(s, sample('ovr', 0, 0));
    await send(s, sample('ovr', 5, 3)); // below the default threshold 5: nothing
    await send(s, sample('ovr', 10, 6, { settings: { 'walrus.threshold': '3' } })); // the cluster's own threshold 3
    const d = await watch.next('walrus.decision.ovr', () => true, 'the capped increase');
    expect(d).toMatchObject({ action: 'capped', new_size_mb: 2048, forced_checkpoints: 3 });
    expect(d.metadata).toMatchObject({ walrus_max_mb: 2048, calculated_size_mb: 4096, threshold: 3 });
  });

  it('dead-letters a sample that fails validation and goes on', async () => {
    const s = await startDecider();
    await publishJs(s.nc, 'walrus.sample.bad', { ...sample('bad', 0, 0), v: 2 });
    await publishJs(s.nc, 'walrus.sample.bad', new Uint8Array([0xff, 0xfe, 0x00]));
    await send(s, sample('bad', 1, 0));
    await send(s, sample('bad', 6, 2));
    await watch.next('walrus.decision.bad', () => true, 'a decision after the poison');
    expect(await s.registry.metrics()).toMatch(/walrus_dead_letters_total\{service="decider",reason="schema violation"\} 1/);
    expect(await s.registry.metrics()).toMatch(/walrus_dead_letters_total\{service="decider",reason="payload is not UTF-8 text"\} 1/);
  });
});

describe('decider - back-pressure is visible', () => {
  it('reports its lag and the messages in hand while a backlog is worked off, and zero after', async () => {
    const nc = await connect({ servers: nats.url });
    // Stored before any decider runs: one cluster, so they are handled one after the other.
    for (let m = 0; m < 300; m++) await publishJs(nc, 'walrus.sample.backlog', sample('backlog', m, m), `backlog:${m}`);
    await nc.close();
    const s = await startDecider();
    const gauge = async (name: string) =>
      Number(new RegExp(`${name}\\{[^}]*service="decider"[^}]*\\} (\\d+)`).exec(await s.registry.metrics())?.[1] ?? NaN);
    let sawInHand = 0;
    await expect
      .poll(async () => (sawInHand = Math.max(sawInHand, await gauge('walrus_consumer_in_flight_messages'))), { timeout: 20_000, interval: 5 })
      .toBeGreaterThan(1);
    await expect.poll(() => gauge('walrus_consumer_pending_messages'), { timeout: 30_000 }).toBe(0);
    await expect.poll(() => gauge('walrus_consumer_in_flight_messages'), { timeout: 30_000 }).toBe(0);
    const kv = await new Kvm(s.nc).open('walrus_state');
    expect((await kv.get('backlog'))?.json<{ prevRequested: number }>()?.prevRequested).toBe(299);
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { Decision } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, waitFor, type NatsServer } from '../harness/mod.js';
import { startWalrus, type WalrusProcess } from '../harness/walrus-process.js';
import { buildFleet, collectorLikePublisher } from './fleet.js';
import { storedMessages } from './stream.js';
import { waitSettled } from '../harness/consumers.js';

// Rules chosen so that every kind of decision occurs within 24 one-minute rounds.
const POLICY = {
  WALRUS_THRESHOLD: '2',
  WALRUS_MAX: '2GB',
  WALRUS_MIN_SIZE: '64MB',
  WALRUS_SHRINK_INTERVALS: '2',
  WALRUS_COOLDOWN_SEC: '90',
  WALRUS_MAX_CHANGES_PER_HOUR: '6',
};

let nats: NatsServer;
let nc: NatsConnection;
const procs: WalrusProcess[] = [];

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url, name: 'fault-deciders' });
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop(5000)));
  await nc?.close();
  await cleanupAll();
});

function startDecider(): WalrusProcess {
  const p = startWalrus(['decider'], { NATS_URL: nats.url, LOG_LEVEL: 'info', WALRUS_DECIDER_CONCURRENCY: '16', ...POLICY });
  procs.push(p);
  return p;
}
const started = (p: WalrusProcess) => p.waitForLog((l) => l.msg === 'started', 'decider started', 60_000);

describe('faults - deciders killed mid-stream', () => {
  it('two deciders, one kill -9ed again and again: exactly the pure engine’s decisions, each stored once', async () => {
    const fleet = buildFleet({ clusters: 50, rounds: 24, env: POLICY });
    expect(fleet.samples.length).toBeGreaterThanOrEqual(1000);
    expect(new Set(fleet.expected.map((d) => d.action))).toEqual(new Set(['increase', 'capped', 'decrease', 'dry_run', 'skipped']));

    const steady = startDecider();
    let victim = startDecider();
    await Promise.all([started(steady), started(victim)]);

    const publishOne = collectorLikePublisher(jetstream(nc));
    const publish = async (from: number, to: number) => {
      for (const s of fleet.samples.slice(from, to)) await publishOne(s);
    };
    // Chunks of samples; after each, the victim is killed while it holds work, then restarted.
    const chunk = 200;
    let kills = 0;
    for (let from = 0; from < fleet.samples.length; from += chunk) {
      await publish(from, from + chunk);
      if (from + chunk < fleet.samples.length) {
        await sleep(150);
        victim.proc.kill('SIGKILL');
        await victim.exited;
        kills++;
        victim = startDecider();
        await started(victim);
      }
    }
    expect(kills).toBeGreaterThanOrEqual(4);

    // Messages the killed processes held come back after the ack wait (30 s) at the latest.
    await waitFor(
      async () => {
        const d = await storedMessages<Decision>(nc, 'WALRUS_DECISIONS', 'walrus.decision.');
        return d.length >= fleet.expected.length ? d : null;
      },
      { what: `${fleet.expected.length} decisions in WALRUS_DECISIONS`, timeoutMs: 120_000, intervalMs: 2000 },
    );
    // Nothing more can arrive once the deciders have acknowledged every
    // sample, the ones the killed processes held included: a decision is
    // published before its sample is acknowledged, and an acknowledged sample
    // is never delivered again. A late duplicate would show here.
    await waitSettled(nc, 'WALRUS_SAMPLES', 'walrus.sample.>', { what: 'every sample evaluated and acknowledged', timeoutMs: 120_000 });
    const final = await storedMessages<Decision>(nc, 'WALRUS_DECISIONS', 'walrus.decision.');
    expect(final.length).toBe(fleet.expected.length);

    const got = final.map(({ data: { decided_at: _t, ...rest } }) => rest);
    const byKey = (d: { cluster: string; sample_at: string }) => `${d.cluster} ${d.sample_at}`;
    const sort = <T extends { cluster: string; sample_at: string }>(xs: T[]) => [...xs].sort((a, b) => byKey(a).localeCompare(byKey(b)));
    expect(new Set(got.map((d) => d.id)).size).toBe(got.length);
    expect(sort(got)).toEqual(sort(fleet.expected));
  });
});

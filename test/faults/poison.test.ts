import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { sampleMsgId, sampleSubject, type Decision } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, waitFor, type NatsServer } from '../harness/mod.js';
import { startWalrus, type WalrusProcess } from '../harness/walrus-process.js';
import { buildFleet, random, sampleOf } from './fleet.js';
import { storedMessages } from './stream.js';
import { defined } from '../harness/defined.js';

const POLICY = { WALRUS_THRESHOLD: '2', WALRUS_MAX: '2GB', WALRUS_MIN_SIZE: '64MB', WALRUS_SHRINK_INTERVALS: '2', WALRUS_COOLDOWN_SEC: '90' };
let nats: NatsServer;
let nc: NatsConnection;
let decider: WalrusProcess;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url, name: 'fault-poison' });
  decider = startWalrus(['decider'], { NATS_URL: nats.url, LOG_LEVEL: 'info', ...POLICY });
  await decider.waitForLog((l) => l.msg === 'started', 'decider started', 60_000);
});
afterAll(async () => {
  await decider?.stop();
  await nc?.close();
  await cleanupAll();
});

const KINDS = ['random bytes', 'bad JSON', 'wrong version', 'unknown field', 'cluster not allowed', 'cluster mismatch', 'oversized', 'missing field'] as const;

/** One poison message of each kind in turn, on the subject of a real cluster (so it sits among valid samples). */
function poison(i: number, cluster: string, rnd: () => number): { kind: string; data: Uint8Array | string } {
  const kind = defined(KINDS[i % KINDS.length]);
  const valid = sampleOf(cluster, 100_000 + i, 1, 256);
  switch (kind) {
    case 'random bytes':
      return { kind, data: Uint8Array.from({ length: 1 + Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256)) };
    case 'bad JSON':
      return { kind, data: JSON.stringify(valid).slice(0, 20 + (i % 50)) };
    case 'wrong version':
      return { kind, data: JSON.stringify({ ...valid, v: 2 }) };
    case 'unknown field':
      return { kind, data: JSON.stringify({ ...valid, max_wal_size_bytes: 1 }) };
    case 'cluster not allowed':
      return { kind, data: JSON.stringify({ ...valid, cluster: 'bad cluster/id' }) };
    case 'cluster mismatch':
      return { kind, data: JSON.stringify({ ...valid, cluster: 'someone-else' }) };
    case 'oversized':
      return { kind, data: JSON.stringify({ ...valid, settings: { 'walrus.max': 'x'.repeat(70_000) } }) };
    default:
      return { kind, data: JSON.stringify({ ...valid, checkpoints_requested: undefined }) };
  }
}

describe('faults - poison messages among valid samples', () => {
  it('puts each of 1,000 poison messages in walrus.dlq.decider and processes every valid sample', async () => {
    const fleet = buildFleet({ clusters: 10, rounds: 20, env: POLICY, seed: 11, prefix: 'psn' });
    const rnd = random(5);
    const js = jetstream(nc);
    const kinds = new Map<number, string>(); // stream sequence of each poison message -> kind
    let p = 0;
    for (const s of fleet.samples) {
      // Five poison messages around each valid sample, on the same cluster's subject.
      for (let k = 0; k < 5; k++, p++) {
        const bad = poison(p, s.cluster, rnd);
        const ack = await js.publish(sampleSubject(s.cluster), bad.data);
        kinds.set(ack.seq, bad.kind);
      }
      await js.publish(sampleSubject(s.cluster), JSON.stringify(s), { msgID: sampleMsgId(s.cluster, s.collected_at) });
    }
    expect(kinds.size).toBe(1000);

    const jsm = await jetstreamManager(nc);
    await waitFor(async () => ((await jsm.streams.info('WALRUS_DLQ')).state.messages >= 1000 ? true : null), {
      what: '1000 dead letters',
      timeoutMs: 120_000,
      intervalMs: 1000,
    });
    const info = await jsm.streams.info('WALRUS_DLQ');
    expect(info.state.messages).toBe(1000);
    const seen = new Map<number, string>();
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = defined(await jsm.streams.getMessage('WALRUS_DLQ', { seq }));
      expect(m.subject).toBe('walrus.dlq.decider');
      const original = Number(m.header.get('Walrus-Original-Sequence'));
      expect(m.header.get('Walrus-Error')).not.toBe('');
      seen.set(original, m.header.get('Walrus-Error'));
    }
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual([...kinds.keys()].sort((a, b) => a - b));
    // Each kind is refused for its own reason.
    const reasonOf = (kind: string) => [...kinds].filter(([, k]) => k === kind).map(([seq]) => defined(seen.get(seq)));
    expect(reasonOf('oversized').every((r) => /oversized/.test(r))).toBe(true);
    expect(reasonOf('cluster mismatch').every((r) => /cluster mismatch/.test(r))).toBe(true);
    expect(reasonOf('unknown field').every((r) => /max_wal_size_bytes|Unrecognized/i.test(r))).toBe(true);

    // Every valid sample was evaluated: exactly the pure engine's decisions.
    const decisions = await waitFor(
      async () => {
        const d = await storedMessages<Decision>(nc, 'WALRUS_DECISIONS', 'walrus.decision.');
        return d.length >= fleet.expected.length ? d : null;
      },
      { what: `${fleet.expected.length} decisions`, timeoutMs: 60_000, intervalMs: 1000 },
    );
    const got = decisions.map(({ data: { decided_at: _t, ...rest } }) => rest);
    const key = (d: { cluster: string; sample_at: string }) => `${d.cluster} ${d.sample_at}`;
    const sort = <T extends { cluster: string; sample_at: string }>(xs: T[]) => [...xs].sort((a, b) => key(a).localeCompare(key(b)));
    expect(sort(got)).toEqual(sort(fleet.expected));
    // Logged once each, with the reason.
    expect(decider.lines.filter((l) => l.msg === 'message dead-lettered')).toHaveLength(1000);
    expect(decider.proc.exitCode).toBeNull();
  });
});

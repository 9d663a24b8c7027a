import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import {
  JetStreamApiError,
  JetStreamNoRespondersError,
  JetStreamRequestTimeoutError,
  JetStreamRequests,
} from '@walrus/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, type NatsServer } from './harness/mod.js';
import { defined } from './harness/defined.js';

// The decider's lean JetStream requests against a real nats-server: what
// they return must be what nats.js's own js.publish / kv.get would give.
let nats: NatsServer;
let nc: NatsConnection;
let requests: JetStreamRequests;
const text = (d: Uint8Array) => new TextDecoder().decode(d);

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'JSR', subjects: ['jsr.>'], duplicate_window: 60_000_000_000, allow_direct: true });
  requests = new JetStreamRequests(nc, { timeoutMs: 500 });
});
afterAll(async () => {
  requests?.close();
  await nc?.close();
  await cleanupAll();
});

describe('JetStreamRequests - publish', () => {
  it('stores a message and answers with stream and sequence', async () => {
    const a = await requests.publish('jsr.a', 'one');
    const b = await requests.publish('jsr.a', 'two');
    expect(a).toEqual({ stream: 'JSR', seq: expect.any(Number), duplicate: false });
    expect(b.seq).toBe(a.seq + 1);
    const stored = await (await jetstreamManager(nc)).streams.getMessage('JSR', { seq: b.seq });
    expect(text(defined(stored).data)).toBe('two');
  });

  it('a message id seen within the duplicate window is stored once', async () => {
    const first = await requests.publish('jsr.dup', 'x', { msgId: 'id-1' });
    const again = await requests.publish('jsr.dup', 'x', { msgId: 'id-1' });
    expect(again).toEqual({ stream: 'JSR', seq: first.seq, duplicate: true });
  });

  it('an expected last subject sequence that does not match is refused with 10071', async () => {
    const first = await requests.publish('jsr.cas', 'v1', { expectedLastSubjectSeq: 0 });
    const second = await requests.publish('jsr.cas', 'v2', { expectedLastSubjectSeq: first.seq });
    const err = await requests.publish('jsr.cas', 'v3', { expectedLastSubjectSeq: first.seq }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).errCode).toBe(10071);
    expect((err as Error).message).toMatch(/wrong last sequence/);
    // Revision 0 means "nothing stored yet": refused once something is.
    await expect(requests.publish('jsr.cas', 'v0', { expectedLastSubjectSeq: 0 })).rejects.toBeInstanceOf(JetStreamApiError);
    expect((await requests.lastBySubject('JSR', 'jsr.cas'))?.seq).toBe(second.seq);
  });

  it('a subject no stream stores gets no responders, not a hang', async () => {
    await expect(requests.publish('nostream.x', 'x')).rejects.toBeInstanceOf(JetStreamNoRespondersError);
  });
});

describe('JetStreamRequests - direct get', () => {
  it('returns the last message of a subject, with its sequence and headers', async () => {
    await requests.publish('jsr.last', 'old');
    const ack = await requests.publish('jsr.last', 'new', { msgId: 'last-2' });
    const m = await requests.lastBySubject('JSR', 'jsr.last');
    expect(m?.seq).toBe(ack.seq);
    expect(m?.subject).toBe('jsr.last');
    expect(text(defined(m).data)).toBe('new');
    expect(m?.header('Nats-Msg-Id')).toBe('last-2');
  });

  it('null when the subject has no message', async () => {
    expect(await requests.lastBySubject('JSR', 'jsr.never')).toBeNull();
  });

  it('reads a KV entry and its delete marker as the KV client writes them', async () => {
    const kv = await new Kvm(nc).create('jsrkv', { history: 1 });
    const rev = await kv.put('k', 'value');
    const put = await requests.lastBySubject('KV_jsrkv', '$KV.jsrkv.k');
    expect({ seq: put?.seq, op: put?.header('KV-Operation'), data: text(defined(put).data) }).toEqual({ seq: rev, op: undefined, data: 'value' });
    await kv.delete('k');
    const del = await requests.lastBySubject('KV_jsrkv', '$KV.jsrkv.k');
    expect(del?.header('KV-Operation')).toBe('DEL');
    expect(defined(del).seq).toBeGreaterThan(rev);
  });
});

describe('JetStreamRequests - failures', () => {
  it('a request nobody answers times out with the subject named', async () => {
    // A plain subscriber that never replies: no "no responders", so only the deadline ends it.
    const sub = nc.subscribe('silent.>');
    const err = await requests.publish('silent.x', 'x').catch((e: unknown) => e);
    sub.unsubscribe();
    expect(err).toBeInstanceOf(JetStreamRequestTimeoutError);
    expect((err as Error).message).toMatch(/silent\.x.*500 ms/);
  });

  it('close fails what is pending and refuses new requests', async () => {
    const own = new JetStreamRequests(nc, { timeoutMs: 10_000 });
    const sub = nc.subscribe('silent2.>');
    const pending = own.publish('silent2.x', 'x').catch((e: unknown) => e);
    await sleep(20);
    own.close();
    sub.unsubscribe();
    expect(String(await pending)).toMatch(/closed/);
    await expect(own.publish('jsr.a', 'x')).rejects.toThrow(/closed/);
  });

  it('sends queued acknowledgements-style writes with the turn', async () => {
    const got: string[] = [];
    const sub = nc.subscribe('later.x', { callback: (_e, m) => void got.push(text(m.data)) });
    for (const n of ['1', '2', '3']) requests.later(() => nc.publish('later.x', n));
    expect(got).toEqual([]);
    await nc.flush();
    await sleep(50);
    sub.unsubscribe();
    expect(got).toEqual(['1', '2', '3']);
  });
});

describe('JetStreamRequests - get from the stream leader', () => {
  it('gives what the direct get gives: data, sequence, headers, and null when empty', async () => {
    await requests.publish('jsr.leader', 'old');
    const ack = await requests.publish('jsr.leader', 'new', { msgId: 'leader-2' });
    const viaLeader = await requests.lastBySubjectFromLeader('JSR', 'jsr.leader');
    const direct = await requests.lastBySubject('JSR', 'jsr.leader');
    expect(viaLeader?.seq).toBe(ack.seq);
    expect(text(defined(viaLeader).data)).toBe('new');
    expect(viaLeader?.header('Nats-Msg-Id')).toBe(direct?.header('Nats-Msg-Id'));
    expect(await requests.lastBySubjectFromLeader('JSR', 'jsr.never')).toBeNull();
  });

  it('finds the next message of a subject at or after a sequence, with the time it was stored', async () => {
    const before = Date.now();
    const a = await requests.publish('jsr.next', 'a');
    await requests.publish('jsr.other', 'x');
    const b = await requests.publish('jsr.next', 'b');
    const first = await requests.nextBySubjectFromLeader('JSR', 'jsr.next', a.seq);
    expect({ seq: first?.seq, data: text(defined(first).data), subject: first?.subject }).toEqual({ seq: a.seq, data: 'a', subject: 'jsr.next' });
    expect(defined(first).timeMs).toBeGreaterThanOrEqual(before - 1000);
    expect(defined(first).timeMs).toBeLessThanOrEqual(Date.now() + 1000);
    expect((await requests.nextBySubjectFromLeader('JSR', 'jsr.next', a.seq + 1))?.seq).toBe(b.seq);
    expect(await requests.nextBySubjectFromLeader('JSR', 'jsr.next', b.seq + 1)).toBeNull();
  });

  it('sees a KV delete marker', async () => {
    const kv = await new Kvm(nc).create('jsrkv2', { history: 1 });
    await kv.put('k', 'value');
    await kv.delete('k');
    const m = await requests.lastBySubjectFromLeader('KV_jsrkv2', '$KV.jsrkv2.k');
    expect(m?.header('KV-Operation')).toBe('DEL');
    expect(m?.data.length).toBe(0);
  });
});

describe('JetStreamRequests - a write that throws', () => {
  it('does not take the process down, and the turn’s other writes still go out', async () => {
    const got: string[] = [];
    const sub = nc.subscribe('later.y', { callback: (_e, m) => void got.push(text(m.data)) });
    requests.later(() => {
      throw new Error('connection closed');
    });
    requests.later(() => nc.publish('later.y', 'after'));
    await sleep(50);
    await nc.flush();
    sub.unsubscribe();
    expect(got).toEqual(['after']);
  });
});

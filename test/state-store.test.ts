import { readFileSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { CLUSTER_STATE_VERSION, initialState, KV_STATE_BUCKET, readClusterState, type ClusterState } from '@walrus/core';
import { createLogger, isNotFound, isWrongLastSequence, JetStreamRequests, StateConflictError, StateStore } from '@walrus/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, type NatsServer } from './harness/mod.js';

// The one store of walrus_state that the deciders and the control service
// share, against a real nats-server: revisions, conflicts and deletes must
// mean what the KV client means by them.
let nats: NatsServer;
let nc: NatsConnection;
let requests: JetStreamRequests;
let store: StateStore;
const log = createLogger({ level: 'silent', name: 'test' });
const state = (totalAdjustments: number): ClusterState => ({ ...initialState(), totalAdjustments });
/** States as deciders of each version wrote them (packages/core/src/engine/state/fixtures/README.md). */
const FIXTURES = new URL('../packages/core/src/engine/state/fixtures/', import.meta.url);

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  requests = new JetStreamRequests(nc, { timeoutMs: 2000 });
  store = await StateStore.open(nc, requests, { provision: true, replicas: 1 }, log);
});
afterAll(async () => {
  requests?.close();
  await nc?.close();
  await cleanupAll();
});

describe('state store - revisions and conflicts', () => {
  it('a cluster without state: null for reports, a fresh state at revision 0 for the decider', async () => {
    expect(await store.get('none')).toEqual({ state: null, revision: 0 });
    expect(await store.load('none')).toEqual({ state: initialState(), revision: 0 });
  });

  it('saves on the revision read, and refuses a save on a stale one with StateConflictError', async () => {
    const r1 = await store.save('a', state(1), 0);
    expect(await store.get('a')).toEqual({ state: state(1), revision: r1 });
    const r2 = await store.save('a', state(2), r1);
    expect(r2).toBeGreaterThan(r1);
    const stale = await store.save('a', state(3), r1).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(StateConflictError);
    expect(isWrongLastSequence((stale as Error).cause)).toBe(true);
    // A second create of the same key conflicts the same way.
    await expect(store.save('a', state(4), 0)).rejects.toBeInstanceOf(StateConflictError);
    expect(await store.load('a')).toEqual({ state: state(2), revision: r2 });
    // What the KV client sees is the same entry.
    const kv = await new Kvm(nc).open(KV_STATE_BUCKET);
    expect((await kv.get('a'))?.json()).toEqual(state(2));
  });

  it('delete leaves a marker the KV client reads as a delete; the next save goes on from its revision', async () => {
    const revision = await store.save('d', state(1), 0);
    await expect(store.delete('d', revision - 1)).rejects.toBeInstanceOf(StateConflictError);
    await store.delete('d', revision);
    const after = await store.get('d');
    expect(after.state).toBeNull();
    expect(after.revision).toBeGreaterThan(revision);
    expect(await store.load('d')).toEqual({ state: initialState(), revision: after.revision });
    const kv = await new Kvm(nc).open(KV_STATE_BUCKET);
    expect((await kv.get('d'))?.operation).toBe('DEL');
    await store.save('d', state(5), after.revision);
    expect((await store.get('d')).state).toEqual(state(5));
  });

  it('lists the clusters that have a state, not the deleted ones', async () => {
    await store.save('listed', state(1), (await store.get('listed')).revision);
    await store.save('gone', state(1), (await store.get('gone')).revision);
    await store.delete('gone');
    const clusters = await store.clusters();
    expect(clusters).toContain('listed');
    expect(clusters).not.toContain('gone');
  });

  it('an unreadable entry is no state for reports and a new baseline for the decider', async () => {
    const kv = await new Kvm(nc).open(KV_STATE_BUCKET);
    const revision = await kv.put('bad', '{"v":1,"prevRequested":"lots"');
    expect(await store.get('bad')).toEqual({ state: null, revision });
    expect(await store.load('bad')).toEqual({ state: initialState(), revision });
  });
});

describe('state store - versions and the update loop', () => {
  it('a state written by a decider of version 1 is read as the current version; the next save writes the current one', async () => {
    const kv = await new Kvm(nc).open(KV_STATE_BUCKET);
    const v1 = JSON.parse(readFileSync(new URL('v1-disk.json', FIXTURES), 'utf8')) as unknown;
    const revision = await kv.put('old', JSON.stringify(v1));
    const read = await store.get('old');
    expect(read.revision).toBe(revision);
    expect(read.state).toMatchObject({ v: CLUSTER_STATE_VERSION, disk: { slotMb: 850 }, alerts: { firing: { 'slot_retention:s1': expect.any(Object) } } });
    expect(readClusterState(v1)).toMatchObject({ ok: true, state: read.state });
    await store.update('old', async ({ state: s }) => ({ write: s && { save: { ...s, totalAdjustments: 9 } }, result: null }), { attempts: 1 });
    expect((await kv.get('old'))?.json()).toMatchObject({ v: CLUSTER_STATE_VERSION, totalAdjustments: 9, disk: { slotMb: 850 } });
  });

  it('a state written by a newer walrus is no state here (a new baseline), and not mistaken for damage', async () => {
    const kv = await new Kvm(nc).open(KV_STATE_BUCKET);
    const revision = await kv.put('newer', JSON.stringify({ ...initialState(), v: CLUSTER_STATE_VERSION + 1 }));
    expect(await store.load('newer')).toEqual({ state: initialState(), revision });
  });

  it('update: reads, writes on the revision read, and on a conflict does it all again on the new state', async () => {
    const first = await store.save('u', state(1), 0);
    let calls = 0;
    const conflicts: number[] = [];
    const result = await store.update(
      'u',
      async ({ state: s, revision }) => {
        calls += 1;
        // Another writer moves the state on between the first read and its write.
        if (calls === 1) await store.save('u', state(10), revision);
        return { write: { save: state((s?.totalAdjustments ?? 0) + 1) }, result: revision };
      },
      { attempts: 3, onConflict: (attempt) => conflicts.push(attempt) },
    );
    expect(calls).toBe(2);
    expect(conflicts).toEqual([1]);
    expect(result).toBeGreaterThan(first);
    expect((await store.get('u')).state).toEqual(state(11));
  });

  it('update: gives up with StateConflictError after its attempts; a delete and no write at all go through it too', async () => {
    await store.save('busy', state(1), 0);
    const stubborn = store.update(
      'busy',
      async ({ revision }) => {
        await store.save('busy', state(2), revision);
        return { write: { save: state(3) }, result: null };
      },
      { attempts: 2 },
    );
    await expect(stubborn).rejects.toBeInstanceOf(StateConflictError);
    expect(await store.update('busy', async ({ state: s }) => ({ write: null, result: s?.totalAdjustments }), { attempts: 1 })).toBe(2);
    expect(await store.update('busy', async ({ state: s }) => ({ write: { delete: true }, result: s !== null }), { attempts: 1 })).toBe(true);
    expect((await store.get('busy')).state).toBeNull();
    // Nothing stored: nothing to delete, no marker written.
    expect(await store.update('never', async ({ state: s }) => ({ write: { delete: true }, result: s }), { attempts: 1 })).toBeNull();
    expect(await store.get('never')).toEqual({ state: null, revision: 0 });
  });
});

describe('state store - errors decided by JetStream code', () => {
  it('isNotFound: a missing stream or consumer; never an error that only says so in its text', async () => {
    const jsm = await jetstreamManager(nc);
    expect(isNotFound(await jsm.streams.info('NO_SUCH_STREAM').catch((e: unknown) => e))).toBe(true);
    expect(isNotFound(await jsm.consumers.info(`KV_${KV_STATE_BUCKET}`, 'no-such-consumer').catch((e: unknown) => e))).toBe(true);
    expect(isNotFound(new Error('stream not found'))).toBe(false);
    expect(isNotFound(await requests.publish('nobody.listens', 'x').catch((e: unknown) => e))).toBe(false);
    expect(isWrongLastSequence(new Error('wrong last sequence: 1'))).toBe(false);
  });
});

import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { initialState, KV_STATE_BUCKET, readClusterState, type ClusterState } from '@walrus/core';
import { isWrongLastSequence } from './jetstream-errors.js';
import type { JetStreamRequests } from './js-requests.js';
import type { Logger } from './logger.js';

export interface Versioned {
  state: ClusterState;
  /** KV revision the state was read at; 0 when the key does not exist yet. */
  revision: number;
}

export interface StoredState {
  /** Null when the cluster has no state: never written, reset, or unreadable. */
  state: ClusterState | null;
  /** KV revision read (that of a delete marker too); 0 when the key never existed. */
  revision: number;
}

/** What to do with the cluster's entry after an update (StateStore.update): write a state, delete it, or leave it. */
export type StateWrite = { save: ClusterState } | { delete: true } | null;

export interface UpdateOptions {
  /** Reads and writes in all before a conflict is thrown (the first included). */
  attempts: number;
  /** Each conflict that will be tried again (`attempt` counts from 1). */
  onConflict?: (attempt: number) => void;
}

/** Thrown when another writer changed the cluster's state since it was read. */
export class StateConflictError extends Error {
  override name = 'StateConflictError';
  constructor(readonly cluster: string, options?: { cause?: unknown }) {
    super(`state of cluster ${cluster} changed since it was read`, options);
  }
}

/**
 * Per-cluster decider state in the JetStream KV bucket walrus_state, written
 * with optimistic concurrency on the revision so that two writers can never
 * both move one cluster's state on from the same point. Everything that
 * touches the bucket goes through here: the bucket's settings, how it is
 * read, and what counts as a conflict are decided once.
 *
 * Every load reads the bucket: a cached copy would miss what another writer
 * (a second decider, `walrus analyze --apply`, `walrus reset`) stored since,
 * and a decision published from it could not be taken back, because its id
 * (cluster + sample time) is the one the corrected evaluation would publish
 * and JetStream keeps only the first.
 *
 * Reads and writes go through the KV bucket's stream (the last message of
 * `$KV.walrus_state.<cluster>`, a publish with
 * `Nats-Expected-Last-Subject-Sequence`), as the KV client does, without
 * its per-request overhead (see JetStreamRequests). Only the listing of
 * keys, rare, uses the KV client.
 */
export class StateStore {
  private readonly stream = `KV_${KV_STATE_BUCKET}`;

  private constructor(
    private readonly kv: KV,
    private readonly requests: JetStreamRequests,
    /** How the current entry is read (see open). */
    private readonly readVia: 'direct' | 'leader',
    private readonly log: Logger,
  ) {}

  static async open(nc: NatsConnection, requests: JetStreamRequests, opts: { provision: boolean; replicas: number }, log: Logger): Promise<StateStore> {
    const kvm = new Kvm(nc);
    // history 1: only the current state matters; the decisions stream is the record.
    const kv = opts.provision ? await kvm.create(KV_STATE_BUCKET, { history: 1, replicas: opts.replicas }) : await kvm.open(KV_STATE_BUCKET);
    const info = await (await jetstreamManager(nc)).streams.info(`KV_${KV_STATE_BUCKET}`);
    // A direct get may be answered by any replica, and a follower can lag
    // behind the write a decider just made: replicated buckets are read from
    // the leader (a little more work per read), single-replica ones directly.
    const readVia = info.config.allow_direct === true && info.config.num_replicas <= 1 ? 'direct' : 'leader';
    log.debug({ bucket: KV_STATE_BUCKET, replicas: info.config.num_replicas, readVia }, 'state bucket opened');
    return new StateStore(kv, requests, readVia, log);
  }

  private subject(cluster: string): string {
    return `$KV.${KV_STATE_BUCKET}.${cluster}`;
  }

  /** The state to evaluate the next sample on: a fresh one when the cluster has none (the decider's read). */
  async load(cluster: string): Promise<Versioned> {
    const { state, revision } = await this.readState(cluster, 'load');
    return { state: state ?? initialState(), revision };
  }

  /** The stored state as it is, or null (for reports: a cluster without state is shown as such). */
  async get(cluster: string): Promise<StoredState> {
    return this.readState(cluster, 'get');
  }

  /**
   * The optimistic-concurrency loop of every writer of walrus_state: reads
   * the cluster's state, lets `change` decide what to write (and what to
   * answer), and writes it on the revision read. When another writer moved
   * the state on in between, everything is done again on the new state,
   * `attempts` times at most; then StateConflictError. `change` may run more
   * than once: what it publishes must be the same each time (ids derived
   * from the sample) or wait until update has returned.
   */
  async update<T>(cluster: string, change: (stored: StoredState) => Promise<{ write: StateWrite; result: T }>, opts: UpdateOptions): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const stored = await this.readState(cluster, 'load');
      const { write, result } = await change(stored);
      try {
        if (write !== null && 'save' in write) await this.save(cluster, write.save, stored.revision);
        // Revision 0: nothing stored, nothing to delete.
        else if (write !== null && stored.revision > 0) await this.delete(cluster, stored.revision);
        return result;
      } catch (err) {
        if (err instanceof StateConflictError && attempt < opts.attempts) {
          opts.onConflict?.(attempt);
          continue;
        }
        throw err;
      }
    }
  }

  /**
   * The entry as a state of the current version, whichever version wrote it
   * (ARCHITECTURE §8); null when there is none. A state that cannot be read
   * (another walrus's, or damaged) is taken for none: that only costs a
   * re-baseline (no decision on the next sample), never a wrong resize.
   */
  private async readState(cluster: string, purpose: 'load' | 'get'): Promise<StoredState> {
    const entry = await this.read(cluster);
    if (!entry || entry.operation !== 'PUT' || entry.data.length === 0) return { state: null, revision: entry?.revision ?? 0 };
    const read = parseState(entry.data);
    if (read.ok) {
      if (read.dropped.length > 0 && purpose === 'load') this.log.warn({ cluster, revision: entry.revision, from: read.from, dropped: read.dropped }, 'stored state upgraded without parts that did not pass their check');
      return { state: read.state, revision: entry.revision };
    }
    const fields = { cluster, revision: entry.revision, reason: read.reason };
    if (purpose === 'get') this.log.warn(fields, 'stored state is unreadable; reporting the cluster without state');
    else if (read.newer) this.log.error(fields, 'stored state was written by a newer walrus; starting the cluster from a new baseline (upgrade this decider)');
    else this.log.error(fields, 'stored state is unreadable; starting the cluster from a new baseline');
    return { state: null, revision: entry.revision };
  }

  private async read(cluster: string): Promise<{ revision: number; operation: string; data: Uint8Array } | null> {
    const m =
      this.readVia === 'direct'
        ? await this.requests.lastBySubject(this.stream, this.subject(cluster))
        : await this.requests.lastBySubjectFromLeader(this.stream, this.subject(cluster));
    if (!m) return null;
    // Deletes and purges are stored as markers with this header and no data.
    return { revision: m.seq, operation: m.header('KV-Operation') ?? 'PUT', data: m.data };
  }

  /** Stores `state` if the cluster's entry is still at `revision`; else StateConflictError. Returns the new revision. */
  async save(cluster: string, state: ClusterState, revision: number): Promise<number> {
    try {
      // Revision 0 (no entry at all) expects no message on the subject: a concurrent create fails the same way.
      const ack = await this.requests.publish(this.subject(cluster), JSON.stringify(state), { expectedLastSubjectSeq: revision });
      return ack.seq;
    } catch (err) {
      if (isWrongLastSequence(err)) throw new StateConflictError(cluster, { cause: err });
      throw err;
    }
  }

  /**
   * Removes the cluster's state (a delete marker, as the KV client writes
   * one): its next sample starts a new baseline. With `revision`, only if
   * the entry is still at it; else StateConflictError.
   */
  async delete(cluster: string, revision?: number): Promise<void> {
    try {
      await this.requests.publish(this.subject(cluster), new Uint8Array(0), {
        headers: { 'KV-Operation': 'DEL' },
        ...(revision !== undefined ? { expectedLastSubjectSeq: revision } : {}),
      });
    } catch (err) {
      if (isWrongLastSequence(err)) throw new StateConflictError(cluster, { cause: err });
      throw err;
    }
  }

  /** Every cluster that has a state (deleted ones left out), in no particular order. */
  async clusters(): Promise<string[]> {
    const out: string[] = [];
    for await (const key of await this.kv.keys()) out.push(key);
    return out;
  }
}

const decoder = new TextDecoder();

function parseState(data: Uint8Array): ReturnType<typeof readClusterState> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch {
    return { ok: false, reason: 'not JSON', newer: false };
  }
  return readClusterState(json);
}

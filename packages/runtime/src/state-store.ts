import { Kvm } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ClusterStateV1, initialState, KV_STATE_BUCKET, type ClusterState } from '@walrus/core';
import { JetStreamApiError, type JetStreamRequests, type Logger } from '@walrus/runtime';

export interface Versioned {
  state: ClusterState;
  /** KV revision the state was read at; 0 when the key does not exist yet. */
  revision: number;
}

/** Thrown when another decider wrote the cluster's state since we read it. */
export class StateConflictError extends Error {
  override name = 'StateConflictError';
  constructor(readonly cluster: string, options?: { cause?: unknown }) {
    super(`state of cluster ${cluster} changed since it was read`, options);
  }
}

/**
 * Per-cluster decider state in the JetStream KV bucket walrus_state, written
 * with optimistic concurrency on the revision so that two deciders can never
 * both move one cluster's state on from the same point.
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
 * its per-request overhead (see JetStreamRequests).
 */
export class StateStore {
  private readonly stream = `KV_${KV_STATE_BUCKET}`;

  private constructor(
    private readonly requests: JetStreamRequests,
    /** How the current entry is read (see open). */
    private readonly readVia: 'direct' | 'leader',
    private readonly log: Logger,
  ) {}

  static async open(nc: NatsConnection, requests: JetStreamRequests, opts: { provision: boolean; replicas: number }, log: Logger): Promise<StateStore> {
    const kvm = new Kvm(nc);
    // history 1: only the current state matters; the decisions stream is the record.
    if (opts.provision) await kvm.create(KV_STATE_BUCKET, { history: 1, replicas: opts.replicas });
    else await kvm.open(KV_STATE_BUCKET);
    const info = await (await jetstreamManager(nc)).streams.info(`KV_${KV_STATE_BUCKET}`);
    // A direct get may be answered by any replica, and a follower can lag
    // behind the write a decider just made: replicated buckets are read from
    // the leader (a little more work per read), single-replica ones directly.
    const readVia = info.config.allow_direct === true && info.config.num_replicas <= 1 ? 'direct' : 'leader';
    log.debug({ bucket: KV_STATE_BUCKET, replicas: info.config.num_replicas, readVia }, 'state bucket opened');
    return new StateStore(requests, readVia, log);
  }

  private subject(cluster: string): string {
    return `$KV.${KV_STATE_BUCKET}.${cluster}`;
  }

  async load(cluster: string): Promise<Versioned> {
    const entry = await this.read(cluster);
    if (!entry || entry.operation !== 'PUT' || entry.data.length === 0) {
      return { state: initialState(), revision: entry?.revision ?? 0 };
    }
    let parsed: ReturnType<typeof ClusterStateV1.safeParse>;
    try {
      parsed = ClusterStateV1.safeParse(JSON.parse(decoder.decode(entry.data)));
    } catch (err) {
      parsed = { success: false, error: err } as ReturnType<typeof ClusterStateV1.safeParse>;
    }
    if (!parsed.success) {
      // A state we cannot read is replaced by a fresh one: that only costs a
      // re-baseline (no decision on the next sample), never a wrong resize.
      this.log.error({ cluster, revision: entry.revision }, 'stored state is unreadable; starting the cluster from a new baseline');
      return { state: initialState(), revision: entry.revision };
    }
    return { state: parsed.data, revision: entry.revision };
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

  async save(cluster: string, state: ClusterState, revision: number): Promise<number> {
    try {
      // Revision 0 (no entry at all) expects no message on the subject: a concurrent create fails the same way.
      const ack = await this.requests.publish(this.subject(cluster), JSON.stringify(state), { expectedLastSubjectSeq: revision });
      return ack.seq;
    } catch (err) {
      if (isWrongRevision(err)) throw new StateConflictError(cluster, { cause: err });
      throw err;
    }
  }
}

const decoder = new TextDecoder();

function isWrongRevision(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.errCode === 10071;
  const e = err as { message?: string; api_error?: { err_code?: number } } | undefined;
  // 10071: wrong last sequence; "key exists" when create() races another writer.
  return e?.api_error?.err_code === 10071 || /wrong last sequence|key exists/i.test(e?.message ?? '');
}

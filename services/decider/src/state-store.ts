import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ClusterStateV1, initialState, KV_STATE_BUCKET, type ClusterState } from '@walrus/core';
import type { Logger } from '@walrus/runtime';

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
 */
export class StateStore {
  private constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  static async open(nc: NatsConnection, opts: { provision: boolean; replicas: number }, log: Logger): Promise<StateStore> {
    const kvm = new Kvm(nc);
    // history 1: only the current state matters; the decisions stream is the record.
    const kv = opts.provision
      ? await kvm.create(KV_STATE_BUCKET, { history: 1, replicas: opts.replicas })
      : await kvm.open(KV_STATE_BUCKET);
    return new StateStore(kv, log);
  }

  async load(cluster: string): Promise<Versioned> {
    const entry = await this.kv.get(cluster);
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) {
      return { state: initialState(), revision: entry?.revision ?? 0 };
    }
    let parsed: ReturnType<typeof ClusterStateV1.safeParse>;
    try {
      parsed = ClusterStateV1.safeParse(entry.json());
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

  async save(cluster: string, state: ClusterState, revision: number): Promise<number> {
    const data = JSON.stringify(state);
    try {
      return revision === 0 ? await this.kv.create(cluster, data) : await this.kv.update(cluster, data, revision);
    } catch (err) {
      if (isWrongRevision(err)) throw new StateConflictError(cluster, { cause: err });
      throw err;
    }
  }

  async delete(cluster: string): Promise<void> {
    await this.kv.delete(cluster);
  }
}

function isWrongRevision(err: unknown): boolean {
  const e = err as { message?: string; api_error?: { err_code?: number } } | undefined;
  // 10071: wrong last sequence; "key exists" when create() races another writer.
  return e?.api_error?.err_code === 10071 || /wrong last sequence|key exists/i.test(e?.message ?? '');
}

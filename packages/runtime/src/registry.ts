import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { KV_CLUSTERS_BUCKET, RegistryEntryV1, type RegistryEntry } from '@walrus/core';
import { followKv, openBucket, type KvFollower } from './kv-watch.js';
import type { Logger } from './logger.js';

/** One registry key as it now stands: its entry, or why it cannot be read, or null once removed. */
export interface RegistryChange {
  id: string;
  entry: RegistryEntry | null;
  /** Set when the stored value is not a registry entry (the key is then served as removed). */
  invalid?: string;
  revision: number;
  /** When the server stored this value (ms since the epoch). */
  storedMs: number;
}

const decoder = new TextDecoder();

/** Reads a stored registry value; a problem is a string naming it. */
export function readRegistryValue(data: Uint8Array): RegistryEntry | string {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch {
    return 'the value is not JSON';
  }
  const r = RegistryEntryV1.safeParse(json);
  return r.success ? r.data : r.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ');
}

/**
 * The cluster registry, the KV bucket `walrus_clusters` (ARCHITECTURE §8).
 * Collectors and appliers only follow it; the control service alone writes
 * it (`walrus nats-config` grants exactly that). Creating the bucket, empty,
 * is what any walrus process with provisioning on does when it is missing,
 * so that any start order works.
 */
export class ClusterRegistry {
  private constructor(readonly kv: KV) {}

  static async open(nc: NatsConnection, opts: { provision: boolean; replicas: number }): Promise<ClusterRegistry> {
    // history 1: the current entry is what counts; `walrus clusters` and the logs say what changed.
    return new ClusterRegistry(await openBucket(nc, KV_CLUSTERS_BUCKET, opts));
  }

  /** Follows every entry: each key's value first, then each change, in batches. */
  follow(onChanges: (changes: RegistryChange[], initial: boolean) => void, log: Logger): KvFollower {
    return followKv(
      this.kv,
      (changes, initial) =>
        onChanges(
          changes.map((c) => {
            if (c.value === null) return { id: c.key, entry: null, revision: c.revision, storedMs: c.createdMs };
            const r = readRegistryValue(c.value);
            return typeof r === 'string'
              ? { id: c.key, entry: null, invalid: r, revision: c.revision, storedMs: c.createdMs }
              : { id: c.key, entry: r, revision: c.revision, storedMs: c.createdMs };
          }),
          initial,
        ),
      log,
      KV_CLUSTERS_BUCKET,
    );
  }

  /** One entry, or null when the cluster is not registered (or its value cannot be read: `invalid`). */
  async get(id: string): Promise<{ entry: RegistryEntry | null; invalid?: string; revision: number; storedMs: number } | null> {
    const e = await this.kv.get(id);
    if (!e || e.operation !== 'PUT') return null;
    const r = readRegistryValue(e.value);
    return typeof r === 'string' ? { entry: null, invalid: r, revision: e.revision, storedMs: e.created.getTime() } : { entry: r, revision: e.revision, storedMs: e.created.getTime() };
  }

  /** Every registered entry as it stands now (one pass over the bucket), by id. */
  async list(log: Logger): Promise<Map<string, RegistryChange>> {
    const out = new Map<string, RegistryChange>();
    const f = this.follow((changes) => {
      for (const c of changes) {
        if (c.entry === null && c.invalid === undefined) out.delete(c.id);
        else out.set(c.id, c);
      }
    }, log);
    try {
      await f.ready;
    } finally {
      f.stop();
    }
    return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Stores an entry: `create` refuses an id already registered (JetStream's own check, no race). */
  async put(id: string, entry: RegistryEntry, o: { create: boolean }): Promise<number> {
    const data = JSON.stringify(entry);
    return o.create ? this.kv.create(id, data) : this.kv.put(id, data);
  }

  async remove(id: string): Promise<void> {
    await this.kv.delete(id);
  }
}

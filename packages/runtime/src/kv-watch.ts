import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { Backoff, sleep } from './backoff.js';
import type { Logger } from './logger.js';

export type { KV };

/**
 * Opens a KV bucket walrus uses, creating it (idempotently, with these
 * settings) when provisioning is on; `ttlMs` removes entries not written
 * for that long.
 */
export async function openBucket(nc: NatsConnection, name: string, o: { provision: boolean; replicas: number; ttlMs?: number }): Promise<KV> {
  const kvm = new Kvm(nc);
  return o.provision ? kvm.create(name, { history: 1, replicas: o.replicas, ...(o.ttlMs !== undefined ? { ttl: o.ttlMs } : {}) }) : kvm.open(name);
}

/** One key's latest value as a watch delivers it (a delete or purge is `value: null`). */
export interface KvChange {
  key: string;
  value: Uint8Array | null;
  revision: number;
  /** When the server stored it (ms since the epoch, the server's clock). */
  createdMs: number;
}

export interface KvFollower {
  /** Resolves once every key's value at the start has been delivered. */
  ready: Promise<void>;
  stop(): void;
}

/**
 * Follows a KV bucket: every key's last value first, then each change, in
 * batches (everything that arrived in one event-loop turn), so that a
 * follower of 10,000 keys reacts once per batch rather than per key. A
 * watch that ends (the connection lost for good, the bucket's stream
 * recreated) is started again with backoff, from the last values again.
 */
export function followKv(kv: KV, onChanges: (changes: KvChange[], initial: boolean) => void, log: Logger, what: string): KvFollower {
  let stopped = false;
  let current: { stop(): void } | null = null;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (markReady = r));
  const abort = new AbortController();

  const once = async (): Promise<void> => {
    // Where the initial values end: the bucket's last sequence when the watch starts.
    const status = await kv.status();
    const state = status.streamInfo.state;
    const initialEnd = state.messages === 0 ? 0 : state.last_seq;
    let initial = initialEnd > 0;
    if (!initial) markReady();
    const iter = await kv.watch();
    current = iter;
    let batch: KvChange[] = [];
    let scheduled = false;
    /** An entry written after the watch began (the last initial one may have aged out meanwhile). */
    let sawUpdate = false;
    const flush = () => {
      scheduled = false;
      const out = batch;
      batch = [];
      const wasInitial = initial;
      if (initial && (sawUpdate || out.some((c) => c.revision >= initialEnd))) {
        initial = false;
      }
      if (out.length > 0) onChanges(out, wasInitial);
      if (!initial) markReady();
    };
    for await (const e of iter as AsyncIterable<KvWatchEntry>) {
      if (stopped) break;
      batch.push({ key: e.key, value: e.operation === 'PUT' ? e.value : null, revision: e.revision, createdMs: e.created.getTime() });
      if (e.isUpdate && e.revision > initialEnd) sawUpdate = true;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    }
    if (scheduled) flush();
  };

  void (async () => {
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    while (!stopped) {
      try {
        await once();
        if (stopped) break;
        log.warn({ bucket: what }, 'watch of the bucket ended; watching it again');
      } catch (err) {
        if (stopped) break;
        log.warn({ bucket: what, err }, 'watch of the bucket failed; watching it again with backoff');
      }
      await sleep(backoff.next(), abort.signal).catch(() => undefined);
    }
  })();

  return {
    ready,
    stop: () => {
      stopped = true;
      abort.abort();
      current?.stop();
    },
  };
}

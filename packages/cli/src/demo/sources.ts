import type { ClientBase } from 'pg';
import { readSample } from '@walrus/cluster';
import type { NatsConnection } from '@walrus/runtime';
import type { DemoState, Reading } from './state.js';

/** The subjects an alert subscriber would use (ARCHITECTURE §2): plain NATS, no JetStream consumer. */
export const EVENT_SUBJECTS = ['walrus.decision.>', 'walrus.applied.>'] as const;

/**
 * What the server itself says, read with the collector's own statement (so
 * the view and walrus see the same numbers, on every version), once a second.
 */
export async function readReading(client: ClientBase, cluster: string): Promise<Reading> {
  const s = await readSample(client, cluster, [], () => new Date());
  return {
    atMs: Date.parse(s.collected_at),
    maxWalSizeMb: s.max_wal_size_mb,
    requested: s.checkpoints_requested,
    timed: s.checkpoints_timed,
    walBytes: s.wal_bytes,
    checkpointTimeoutSec: s.checkpoint_timeout_s,
  };
}

/** Feeds every decision and apply result into `state` until the connection closes. */
export async function followEvents(nc: NatsConnection, state: DemoState): Promise<void> {
  for (const subject of EVENT_SUBJECTS) {
    const sub = nc.subscribe(subject);
    void (async () => {
      for await (const m of sub) {
        let payload: unknown;
        try {
          payload = m.json();
        } catch {
          continue;
        }
        state.addMessage(m.subject, payload, Date.now());
      }
    })();
  }
  // The subscriptions are registered with the server before anything is published.
  await nc.flush();
}

import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** The last message of one subject, headers only. */
export interface LastOfSubject {
  seq: number;
  /** When the stream stored it (the server's clock, epoch ms). */
  timeMs: number;
  header(name: string): string | undefined;
}

/**
 * The last message of every subject matching `filter`, headers only, in
 * one pass: an ordered consumer with `deliver_policy: last_per_subject` (one
 * filter subject: NATS 2.9). For 10,000 clusters that is 10,000 small
 * messages, rather than 10,000 requests.
 */
export async function lastPerSubject(nc: NatsConnection, stream: string, filter: string): Promise<Map<string, LastOfSubject>> {
  const out = new Map<string, LastOfSubject>();
  const info = await (await jetstreamManager(nc)).streams.info(stream);
  // Without a message a fetch would only end at its expiry.
  if (info.state.messages === 0) return out;
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.LastPerSubject, headers_only: true });
  try {
    for (;;) {
      let pending = 0;
      let got = 0;
      const batch = await consumer.fetch({ max_messages: 1000, expires: 5000 });
      for await (const m of batch) {
        got++;
        const h = m.headers;
        out.set(m.subject, { seq: m.seq, timeMs: Math.floor(m.info.timestampNanos / 1e6), header: (name) => h?.get(name) || undefined });
        pending = m.info.pending;
      }
      if (got === 0 || pending === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return out;
}

import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * Every message stored in a stream whose subject starts with `prefix`, read
 * one by one from the stream leader: what JetStream really kept, after its
 * deduplication (a plain subscription also sees duplicates it refused).
 */
export async function storedMessages<T = Record<string, unknown>>(nc: NatsConnection, stream: string, prefix: string): Promise<Array<{ seq: number; subject: string; data: T }>> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: Array<{ seq: number; subject: string; data: T }> = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m && m.subject.startsWith(prefix)) out.push({ seq, subject: m.subject, data: m.json<T>() });
  }
  return out;
}

import type { JetStreamClient } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { sampleMsgId, sampleSubject, type Sample } from '@walrus/core';
import { PREV_SEQ_HEADER } from '@walrus/runtime';

/**
 * Publishes samples as the collector does: message id, and the stream
 * sequence of the cluster's previous sample in the Walrus-Prev-Seq header.
 */
export function collectorLikePublisher(js: JetStreamClient): (s: Sample, timeoutMs?: number) => Promise<void> {
  const last = new Map<string, number>();
  return async (s, timeoutMs) => {
    const h = headers();
    const prev = last.get(s.cluster);
    if (prev !== undefined) h.set(PREV_SEQ_HEADER, String(prev));
    const ack = await js.publish(sampleSubject(s.cluster), JSON.stringify(s), {
      msgID: sampleMsgId(s.cluster, s.collected_at),
      headers: h,
      ...(timeoutMs ? { timeout: timeoutMs } : {}),
    });
    last.set(s.cluster, ack.seq);
  };
}

import type { NatsConnection } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import { dlqSubject } from '@walrus/core';
import type { ConsumerMetrics } from './consumer-metrics.js';
import type { Logger } from './logger.js';

// What happens to a message that can never be processed (the `reject` outcome).

/**
 * Republishes a message that can never be processed, unchanged, to
 * `walrus.dlq.<service>` with headers naming the error, then terminates it so
 * that it is never redelivered.
 */
export async function deadLetter(
  nc: NatsConnection,
  service: string,
  msg: JsMsg,
  reason: string,
  log: Logger,
  metrics: ConsumerMetrics,
): Promise<void> {
  const h = natsHeaders();
  h.set('Walrus-Error', reason.slice(0, 1024).replace(/[\r\n]+/g, ' '));
  h.set('Walrus-Original-Subject', msg.subject);
  h.set('Walrus-Original-Sequence', String(msg.seq));
  try {
    await jetstream(nc).publish(dlqSubject(service), msg.data, {
      headers: h,
      msgID: `dlq:${service}:${msg.info.stream}:${msg.seq}`,
    });
  } catch (err) {
    // Without the copy in the DLQ the message would be lost: let it come back.
    log.error({ err, subject: msg.subject, seq: msg.seq }, 'dead-letter publish failed; message will be redelivered');
    msg.nak(5000);
    return;
  }
  msg.term();
  metrics.deadLetters.inc({ service, reason: reasonLabel(reason) });
  log.warn({ subject: msg.subject, seq: msg.seq, reason }, 'message dead-lettered');
}

/** Keeps the label's cardinality small: the first words of the reason. */
function reasonLabel(reason: string): string {
  return (reason.split(/[:(]/)[0] ?? '').trim().slice(0, 40) || 'invalid';
}

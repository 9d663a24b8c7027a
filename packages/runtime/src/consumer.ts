import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { Backoff, sleep } from './backoff.js';
import type { ConsumerMetrics } from './consumer-metrics.js';
import { deadLetter } from './dead-letter.js';
import { describeFailure, errorMessage } from './errors.js';
import type { Logger } from './logger.js';

// The pull loop of a durable consumer and the outcomes its handlers return.
// Metrics, provisioning, dead letters and decoding are in consumer-metrics.ts,
// consumer-provision.ts, dead-letter.ts and decode.ts.

/** What a handler decided about one message (STYLE.md, habit 5). */
export type Outcome =
  | { kind: 'ack' }
  /** Transient failure: redeliver after the delay. */
  | {
      kind: 'retry';
      delayMs: number;
      reason: string;
      /** Waiting its turn (e.g. behind an earlier message of the same key), not a failure: logged at debug, not as a warning. */
      waiting?: boolean;
    }
  /** The message can never be processed: dead-letter it and terminate it. */
  | { kind: 'reject'; reason: string };

export const ack: Outcome = { kind: 'ack' };

export interface RunningConsumer {
  stop(): Promise<void>;
  /** True while the pull loop runs. */
  running(): boolean;
}

export interface RunConsumerOptions {
  nc: NatsConnection;
  stream: string;
  durable: string;
  service: string;
  log: Logger;
  metrics: ConsumerMetrics;
  handle: (msg: JsMsg) => Promise<Outcome>;
  maxMessages?: number;
  /** Messages handled at once (default 1: strictly one after the other). */
  concurrency?: number;
  /** Messages with the same key are never handled at the same time, and keep their order. */
  keyOf?: (msg: JsMsg) => string;
  /** Where acknowledgements are sent from (e.g. JetStreamRequests.later, to write them with the turn's other messages); default: at once. */
  sendLater?: (write: () => void) => void;
}

/**
 * Pulls from a durable consumer and hands each message to `handle`, in stream
 * order: walrus's per-cluster rules depend on order, so a handler that must
 * wait retries inside (extending the ack deadline) rather than letting later
 * messages overtake it. With `concurrency` > 1 and `keyOf`, messages of
 * different keys (clusters) are handled at the same time, those of one key
 * still one after the other in stream order; at most `concurrency` messages
 * are in hand, and pulling waits while that many are (back-pressure).
 */
export async function runConsumer(opts: RunConsumerOptions): Promise<RunningConsumer> {
  const { nc, log, metrics, service } = opts;
  const js = jetstream(nc);
  const consumer = await js.consumers.get(opts.stream, opts.durable);
  let messages: ConsumerMessages | null = null;
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const concurrency = opts.keyOf ? Math.max(1, opts.concurrency ?? 1) : 1;
  const inFlight = new Set<Promise<void>>();
  const tails = new Map<string, Promise<void>>();
  /** The last message received: its delivery info carries the consumer's pending count. */
  let lastMsg: JsMsg | null = null;
  /** Messages in hand when handled one at a time (0 or 1). */
  let sequentialInHand = 0;
  const unreport = metrics.report({
    service,
    consumer: opts.durable,
    pending: () => (lastMsg ? lastMsg.info.pending : null),
    inFlight: () => (concurrency > 1 ? inFlight.size : sequentialInHand),
  });
  // At 0 from the start: a dashboard then shows no retries rather than no
  // data, and increase() counts the first ones (a series that appears with
  // them hides them). Dead letters have a reason label known only then.
  metrics.retries.inc({ service }, 0);
  metrics.redeliveries.inc({ service }, 0);

  // Resolved when a message in hand finishes: the pull loop (the only waiter)
  // then dispatches the next one. Not Promise.race over everything in hand,
  // which costs a reaction per message in hand for every message dispatched.
  let slotFreed: (() => void) | null = null;

  /** Queues a message behind the earlier ones of its key; resolves once there is room for another. */
  const dispatch = async (msg: JsMsg, keyOf: (msg: JsMsg) => string) => {
    while (inFlight.size >= concurrency) await new Promise<void>((r) => (slotFreed = r));
    // Stopping meanwhile: leave it unacknowledged; JetStream redelivers it.
    if (stopped) return;
    const key = keyOf(msg);
    const one = (tails.get(key) ?? Promise.resolve()).then(() => handleOne(msg)).catch((err: unknown) => {
      log.error({ err, subject: msg.subject, seq: msg.seq }, 'message handling failed unexpectedly');
    });
    tails.set(key, one);
    inFlight.add(one);
    // `one` never rejects (caught above): frees the slot once it settles.
    void one.finally(() => {
      inFlight.delete(one);
      if (tails.get(key) === one) tails.delete(key);
      const wake = slotFreed;
      slotFreed = null;
      wake?.();
    });
  };

  // Stops a backoff wait of the loop at once when the consumer is stopped.
  const stopping = new AbortController();
  const loop = async () => {
    // A pull that fails (the consumer's leader being elected, the connection
    // away) is started again after a backoff; a failure is logged once, and
    // once more when messages flow again, not at every retry.
    const backoff = new Backoff({ initialMs: 250, maxMs: 5000 });
    let failing: string | null = null;
    while (!stopped) {
      try {
        messages = await consumer.consume({ max_messages: opts.maxMessages ?? 64 });
        for await (const msg of messages) {
          if (failing !== null) {
            log.info({ consumer: opts.durable }, 'consumer receiving messages again');
            failing = null;
          }
          backoff.reset();
          lastMsg = msg;
          if (opts.keyOf && concurrency > 1) {
            await dispatch(msg, opts.keyOf);
          } else {
            sequentialInHand = 1;
            const one = handleOne(msg);
            current = one;
            await one.finally(() => (sequentialInHand = 0));
          }
          if (stopped) break;
        }
        if (stopped) break;
        // The iterator ended by itself (the connection closed under it, say).
        if (failing === null) log.warn({ consumer: opts.durable }, 'consumer stopped receiving; pulling again with backoff');
        failing = 'ended';
      } catch (err) {
        if (stopped) break;
        if (failing === null) log.error({ err, consumer: opts.durable }, 'consumer loop failed; pulling again with backoff');
        else log.debug({ err, consumer: opts.durable }, 'consumer loop failed again');
        failing = describeFailure(err);
      }
      await sleep(backoff.next(), stopping.signal).catch(() => undefined);
    }
  };

  const handleOne = async (msg: JsMsg) => {
    if (msg.redelivered) metrics.redeliveries.inc({ service });
    let outcome: Outcome;
    try {
      outcome = await opts.handle(msg);
    } catch (err) {
      outcome = { kind: 'retry', delayMs: 2000, reason: errorMessage(err) };
    }
    switch (outcome.kind) {
      case 'ack':
        if (opts.sendLater) opts.sendLater(() => msg.ack());
        else msg.ack();
        break;
      case 'retry':
        metrics.retries.inc({ service });
        const fields = { subject: msg.subject, seq: msg.seq, deliveries: msg.info.deliveryCount, reason: outcome.reason };
        if (outcome.waiting) log.debug(fields, 'message will be redelivered');
        else log.warn(fields, 'message will be redelivered');
        msg.nak(outcome.delayMs);
        break;
      case 'reject':
        await deadLetter(nc, service, msg, outcome.reason, log, metrics);
        break;
    }
  };

  const done = loop();
  return {
    running: () => !stopped,
    stop: async () => {
      stopped = true;
      stopping.abort();
      // Let the messages in hand finish (and be acknowledged) before closing.
      await current.catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      await messages?.close().catch(() => undefined);
      await done;
      unreport();
    },
  };
}

import type { NatsConnection } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { dlqSubject } from '@walrus/core';
import { Counter, Gauge, type Registry } from 'prom-client';
import { Backoff, sleep } from './backoff.js';
import { describeFailure, errorMessage } from './errors.js';
import { isNotFound, isTransientJetStreamError } from './jetstream-errors.js';
import type { Logger } from './logger.js';
import type { StartupWaits } from './startup.js';

/** What a handler decided about one message (STYLE.md, habit 5). */
export type Outcome =
  | { kind: 'ack' }
  /** Transient failure: redeliver after the delay. */
  | { kind: 'retry'; delayMs: number; reason: string }
  /** The message can never be processed: dead-letter it and terminate it. */
  | { kind: 'reject'; reason: string };

export const ack: Outcome = { kind: 'ack' };

export interface ConsumerMetrics {
  deadLetters: Counter<'service' | 'reason'>;
  retries: Counter<'service'>;
  redeliveries: Counter<'service'>;
  /** Messages in the durable consumer not yet delivered to anyone (the consumer's lag). */
  pending: Gauge<'service' | 'consumer'>;
  /** Messages received and not yet acknowledged by this process (bounded by the concurrency). */
  inFlight: Gauge<'service'>;
  /** Adds a consumer whose lag and messages in hand the two gauges report; returns its removal. */
  report(source: GaugeSource): () => void;
}

/** What a running consumer tells the gauges, read when they are scraped. */
export interface GaugeSource {
  service: string;
  consumer: string;
  /** Pending messages as of the last message received; null before the first. */
  pending(): number | null;
  inFlight(): number;
}

/*
 * The gauges are filled when scraped rather than set for every message: at
 * thousands of messages per second the label lookups were a measurable share
 * of a decider's CPU, and an applier's consumers (one per cluster) would each
 * overwrite the service's in-hand count instead of adding to it.
 */
const sourcesByRegistry = new WeakMap<Registry, Set<GaugeSource>>();

export function consumerMetrics(registry: Registry): ConsumerMetrics {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  let sources = sourcesByRegistry.get(registry);
  if (!sources) {
    sources = new Set();
    sourcesByRegistry.set(registry, sources);
  }
  const all = sources;
  return {
    report(source) {
      all.add(source);
      return () => void all.delete(source);
    },
    deadLetters: get(
      'walrus_dead_letters_total',
      () =>
        new Counter({
          name: 'walrus_dead_letters_total',
          help: 'Messages that failed validation, were terminated and republished to walrus.dlq.<service>.',
          labelNames: ['service', 'reason'],
          registers: [registry],
        }),
    ),
    retries: get(
      'walrus_message_retries_total',
      () =>
        new Counter({
          name: 'walrus_message_retries_total',
          help: 'Messages handed back to JetStream for a later redelivery after a transient failure.',
          labelNames: ['service'],
          registers: [registry],
        }),
    ),
    redeliveries: get(
      'walrus_message_redeliveries_total',
      () =>
        new Counter({
          name: 'walrus_message_redeliveries_total',
          help: 'Messages received that JetStream had delivered before (after a crash, a timeout or a retry).',
          labelNames: ['service'],
          registers: [registry],
        }),
    ),
    pending: get(
      'walrus_consumer_pending_messages',
      () =>
        new Gauge({
          name: 'walrus_consumer_pending_messages',
          help: 'Messages in the durable consumer not yet delivered (its lag), as of the last message received.',
          labelNames: ['service', 'consumer'],
          registers: [registry],
          collect() {
            this.reset();
            for (const s of all) {
              const n = s.pending();
              if (n !== null) this.set({ service: s.service, consumer: s.consumer }, n);
            }
          },
        }),
    ),
    inFlight: get(
      'walrus_consumer_in_flight_messages',
      () =>
        new Gauge({
          name: 'walrus_consumer_in_flight_messages',
          help: 'Messages this process has received and not yet acknowledged (queued or being handled).',
          labelNames: ['service'],
          registers: [registry],
          collect() {
            this.reset();
            const byService = new Map<string, number>();
            for (const s of all) byService.set(s.service, (byService.get(s.service) ?? 0) + s.inFlight());
            for (const [service, n] of byService) this.set({ service }, n);
          },
        }),
    ),
  };
}

/** Creates the durable consumer when missing; an existing one is used as it is. */
export async function ensureConsumer(
  nc: NatsConnection,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
  provision: boolean,
  log: Logger,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.consumers.info(stream, config.durable_name);
  } catch (err) {
    if (!isNotFound(err) || !provision) throw err;
    await jsm.consumers.add(stream, {
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...config,
    });
    log.info({ stream, consumer: config.durable_name }, 'created consumer');
  }
}

/**
 * Creates the durable consumer when missing (with `provision`) and runs it,
 * waiting through `startup` while JetStream cannot answer yet (a leader being
 * elected, no responders, timeouts). Without `provision`, a missing stream or
 * consumer is waited for too: an administrator creates them, in any order.
 */
export function startDurableConsumer(
  startup: StartupWaits,
  provision: boolean,
  config: Partial<ConsumerConfig> & { durable_name: string },
  run: Omit<RunConsumerOptions, 'durable'>,
): Promise<RunningConsumer> {
  const what = `JetStream consumer ${config.durable_name} on ${run.stream}${provision ? '' : ' (WALRUS_PROVISION=false: created by an administrator)'}`;
  return startup.wait(
    what,
    async () => {
      await ensureConsumer(run.nc, run.stream, config, provision, run.log);
      return runConsumer({ ...run, durable: config.durable_name });
    },
    { transient: (err) => isTransientJetStreamError(err) || (!provision && isNotFound(err)) },
  );
}

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
  return reason.split(/[:(]/)[0]!.trim().slice(0, 40) || 'invalid';
}

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
  const dispatch = async (msg: JsMsg) => {
    while (inFlight.size >= concurrency) await new Promise<void>((r) => (slotFreed = r));
    // Stopping meanwhile: leave it unacknowledged; JetStream redelivers it.
    if (stopped) return;
    const key = opts.keyOf!(msg);
    const one = (tails.get(key) ?? Promise.resolve()).then(() => handleOne(msg)).catch((err: unknown) => {
      log.error({ err, subject: msg.subject, seq: msg.seq }, 'message handling failed unexpectedly');
    });
    tails.set(key, one);
    inFlight.add(one);
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
          if (concurrency > 1) {
            await dispatch(msg);
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
        log.warn(
          { subject: msg.subject, seq: msg.seq, deliveries: msg.info.deliveryCount, reason: outcome.reason },
          'message will be redelivered',
        );
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

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses JSON and a zod schema, returning a reason instead of throwing (for `reject`). */
export function decodeJson(data: Uint8Array, maxBytes = 64 * 1024): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (data.length > maxBytes) return { ok: false, reason: `oversized payload: ${data.length} bytes (allowed ${maxBytes})` };
  let text: string;
  try {
    text = strictUtf8.decode(data);
  } catch {
    return { ok: false, reason: 'payload is not UTF-8 text' };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: `bad JSON: ${errorMessage(err)}` };
  }
}

/** Decodes and validates a message against a zod schema; the reason names each bad field. */
export function decodeMessage<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } } },
  data: Uint8Array,
  maxBytes?: number,
): { ok: true; value: T } | { ok: false; reason: string } {
  const json = decodeJson(data, maxBytes);
  if (!json.ok) return json;
  const parsed = schema.safeParse(json.value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const details = parsed.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(message)'}: ${i.message}`)
    .join('; ');
  return { ok: false, reason: `schema violation: ${details}` };
}

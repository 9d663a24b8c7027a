import { Counter, Gauge, type Registry } from 'prom-client';

// The durable consumers' metrics: dead letters, retries, redeliveries, lag and messages in hand.

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

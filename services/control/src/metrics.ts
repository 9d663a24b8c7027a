import type { JetStreamManager } from '@nats-io/jetstream';
import { STREAM_DECISIONS, STREAM_DLQ, STREAM_SAMPLES } from '@walrus/core';
import type { Logger } from '@walrus/runtime';
import { Counter, Gauge, type Registry } from 'prom-client';

export type ControlMetrics = ReturnType<typeof controlMetrics>;

/**
 * The control service's own series, and the consumer lag of every durable
 * consumer on the walrus streams (deciders, the applier's per-cluster
 * consumers, the historian): read from JetStream when scraped, so one process
 * reports the lag of all of them.
 */
export function controlMetrics(registry: Registry, jsm: JetStreamManager, log: Logger) {
  const registers = [registry];
  // One consumer listing per stream fills both gauges; prom-client collects
  // metrics concurrently, so the two collects share the refresh in flight.
  let refreshing: Promise<void> | null = null;
  const refresh = (): Promise<void> =>
    (refreshing ??= (async () => {
      const seen: Array<{ stream: string; consumer: string; pending: number; ackPending: number }> = [];
      for (const stream of [STREAM_SAMPLES, STREAM_DECISIONS, STREAM_DLQ]) {
        try {
          for await (const ci of jsm.consumers.list(stream)) {
            if (ci.config.durable_name) seen.push({ stream, consumer: ci.name, pending: ci.num_pending, ackPending: ci.num_ack_pending });
          }
        } catch (err) {
          log.debug({ err, stream }, 'consumer lag not available');
        }
      }
      pending.reset();
      ackPending.reset();
      for (const c of seen) {
        pending.set({ stream: c.stream, consumer: c.consumer }, c.pending);
        ackPending.set({ stream: c.stream, consumer: c.consumer }, c.ackPending);
      }
    })().finally(() => {
      refreshing = null;
    }));
  const pending: Gauge<'stream' | 'consumer'> = new Gauge({
    name: 'walrus_jetstream_consumer_pending_messages',
    help: 'Messages stored on the stream that the durable consumer has not received yet (its lag), by stream and consumer.',
    labelNames: ['stream', 'consumer'],
    registers,
    collect: refresh,
  });
  const ackPending: Gauge<'stream' | 'consumer'> = new Gauge({
    name: 'walrus_jetstream_consumer_ack_pending_messages',
    help: 'Messages the durable consumer has received but not acknowledged yet (in hand or waiting for redelivery).',
    labelNames: ['stream', 'consumer'],
    registers,
    collect: refresh,
  });
  return {
    pending,
    ackPending,
    requests: new Counter({
      name: 'walrus_control_requests_total',
      help: 'Control requests answered (walrus.api.*), by endpoint and result (ok or the error code).',
      labelNames: ['endpoint', 'result'],
      registers,
    }),
    manualDecisions: new Counter({
      name: 'walrus_manual_decisions_total',
      help: 'Decisions a decider published for analyze with apply asked through this control service (rate limits bypassed), by cluster and action.',
      labelNames: ['cluster', 'action'],
      registers,
    }),
  };
}

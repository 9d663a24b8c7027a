import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager, type StreamConfig, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { STREAM_DECISIONS, STREAM_DLQ, STREAM_SAMPLES } from '@walrus/core';
import type { Logger } from './logger.js';

export type { NatsConnection };

export interface NatsOptions {
  servers: string[];
  /** Connection name, shown by `nats server report connections`. */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
}

/**
 * Connects and keeps reconnecting forever: a broker that goes away is
 * retried and reported, never a reason for a service to exit. The first
 * connection also waits, so that services can start before NATS does.
 */
export async function connectNats(opts: NatsOptions, log: Logger): Promise<NatsConnection> {
  log.info({ servers: opts.servers }, 'connecting to NATS');
  const nc = await connect({
    servers: opts.servers,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    waitOnFirstConnect: true,
    ...(opts.user ? { user: opts.user } : {}),
    ...(opts.pass ? { pass: opts.pass } : {}),
    ...(opts.token ? { token: opts.token } : {}),
  });
  void watchStatus(nc, log);
  log.info({ server: nc.getServer() }, 'connected to NATS');
  return nc;
}

async function watchStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const s of nc.status()) {
    switch (s.type) {
      case 'disconnect':
        log.warn({ server: s.server }, 'NATS connection lost; reconnecting');
        break;
      case 'reconnect':
        log.info({ server: s.server }, 'NATS connection restored');
        break;
      case 'error':
        log.error({ err: s.error }, 'NATS connection error');
        break;
      case 'slowConsumer':
        log.warn({ sub: s.sub.getSubject(), pending: s.pending }, 'NATS slow consumer');
        break;
      default:
        break;
    }
  }
}

export interface StreamOptions {
  replicas: number;
  /** How long samples are kept: they are only inputs, so days are enough. */
  samplesMaxAgeSec: number;
  /** Decisions and outcomes are also in walrus.history; the stream is a buffer and a replay source. */
  decisionsMaxAgeSec: number;
  dlqMaxAgeSec: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  replicas: 1,
  samplesMaxAgeSec: 7 * 86400,
  decisionsMaxAgeSec: 30 * 86400,
  dlqMaxAgeSec: 30 * 86400,
};

const NS_PER_SEC = 1_000_000_000;

export function streamConfigs(o: StreamOptions): Array<Partial<StreamConfig> & { name: string }> {
  const base = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: o.replicas,
    // Message ids are deduplicated within this window; collectors and deciders
    // retry publishes well inside it.
    duplicate_window: 5 * 60 * NS_PER_SEC,
  };
  return [
    { ...base, name: STREAM_SAMPLES, subjects: ['walrus.sample.>'], max_age: o.samplesMaxAgeSec * NS_PER_SEC },
    {
      ...base,
      name: STREAM_DECISIONS,
      subjects: ['walrus.decision.>', 'walrus.applied.>'],
      max_age: o.decisionsMaxAgeSec * NS_PER_SEC,
    },
    { ...base, name: STREAM_DLQ, subjects: ['walrus.dlq.>'], max_age: o.dlqMaxAgeSec * NS_PER_SEC },
  ];
}

/** Creates the streams when missing; existing ones are left as an administrator made them. */
export async function ensureStreams(nc: NatsConnection, opts: StreamOptions, log: Logger): Promise<JetStreamManager> {
  const jsm = await jetstreamManager(nc);
  for (const cfg of streamConfigs(opts)) {
    const name = cfg.name;
    try {
      await jsm.streams.info(name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add(cfg);
      log.info({ stream: name, replicas: opts.replicas }, 'created stream');
    }
  }
  return jsm;
}

export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; code?: unknown; message?: string; api_error?: { err_code?: number } } | undefined;
  return (
    e?.name === 'StreamNotFoundError' ||
    e?.name === 'ConsumerNotFoundError' ||
    e?.api_error?.err_code === 10059 ||
    e?.api_error?.err_code === 10014 ||
    /not found/i.test(e?.message ?? '')
  );
}

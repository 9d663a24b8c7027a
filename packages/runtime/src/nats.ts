import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager, type StreamConfig, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { STREAM_DECISIONS, STREAM_DLQ, STREAM_SAMPLES } from '@walrus/core';
import { isNotFound } from './jetstream-errors.js';
import type { Logger } from './logger.js';
import { StartupWaits } from './startup.js';

export type { NatsConnection };

export interface NatsOptions {
  servers: string[];
  /** Connection name, shown by `nats server report connections`. */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  /** An nkey seed (`SU…`): the server knows only the public key. */
  nkeySeed?: string;
  /** A `.creds` file (JWT + seed) for operator/account set-ups. */
  credsFile?: string;
  /** TLS: CA to trust, and a client certificate/key when the server asks for one. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /**
   * Prefix of this client's reply subjects (`_INBOX_<user>`): with
   * per-user inbox permissions no other user can read its replies.
   */
  inboxPrefix?: string;
}

/** The nats.js options for the credentials and TLS settings (secrets never logged). */
export function natsAuthOptions(opts: NatsOptions): Partial<ConnectionOptions> {
  const out: Partial<ConnectionOptions> = {};
  if (opts.user) out.user = opts.user;
  if (opts.pass) out.pass = opts.pass;
  if (opts.token) out.token = opts.token;
  if (opts.nkeySeed) out.authenticator = nkeyAuthenticator(new TextEncoder().encode(opts.nkeySeed.trim()));
  if (opts.credsFile) {
    const file = opts.credsFile;
    // Read at each (re)connect, so rotated credentials are picked up.
    out.authenticator = credsAuthenticator(() => readFileSync(file));
  }
  if (opts.tls && (opts.tls.caFile || opts.tls.certFile || opts.tls.keyFile)) {
    out.tls = {
      ...(opts.tls.caFile ? { caFile: opts.tls.caFile } : {}),
      ...(opts.tls.certFile ? { certFile: opts.tls.certFile } : {}),
      ...(opts.tls.keyFile ? { keyFile: opts.tls.keyFile } : {}),
    };
  }
  if (opts.inboxPrefix) out.inboxPrefix = opts.inboxPrefix;
  return out;
}

/**
 * Connects and keeps reconnecting forever: a broker that goes away is
 * retried and reported, never a reason for a service to exit. The first
 * connection also waits (through `startup`, so that /readyz says so and a
 * stop ends the wait), so that services can start before NATS does.
 */
export async function connectNats(opts: NatsOptions, log: Logger, startup: StartupWaits = new StartupWaits(log)): Promise<NatsConnection> {
  log.info({ servers: opts.servers, user: opts.user, tls: Boolean(opts.tls?.caFile || opts.tls?.certFile) }, 'connecting to NATS');
  // Every failure of a first connection is waited out, refused credentials
  // or TLS settings included (a server whose configuration is being rolled
  // out): the wait's log line and /readyz give the reason.
  const nc = await startup.wait('NATS', () => connectOnce(opts, startup.signal), { transient: () => true });
  // Logs the connection's changes for as long as it lives.
  watchStatus(nc, log).catch((err: unknown) => log.warn({ err }, 'NATS status no longer watched'));
  log.info({ server: nc.getServer() }, 'connected to NATS');
  return nc;
}

function connectOnce(opts: NatsOptions, signal: AbortSignal | undefined): Promise<NatsConnection> {
  const attempt = connect({
    servers: opts.servers,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    // Each attempt tries every server once; StartupWaits does the retrying.
    waitOnFirstConnect: false,
    // An Error (with its stack) per request only to improve the trace of a
    // timeout: a measurable share of the decider's CPU at thousands of requests per second.
    noAsyncTraces: true,
    ...natsAuthOptions(opts),
  });
  // A connection that completes after a stop was asked for is not wanted.
  void attempt.then((nc) => (signal?.aborted ? nc.close() : undefined), () => undefined);
  return attempt;
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

/**
 * Header a collector sets on each sample: the stream sequence of its previous
 * sample of the same cluster. It lets a decider see at once that no sample of
 * the cluster is missing between the state it holds and this one, without a
 * search of the stream (docs/SCALING.md).
 */
export const PREV_SEQ_HEADER = 'Walrus-Prev-Seq';

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
      // Alerts (ARCHITECTURE §7) are stored with the decisions: the historian's one consumer gets them too.
      subjects: ['walrus.decision.>', 'walrus.applied.>', ALERT_SUBJECTS, EFFECT_SUBJECTS],
      max_age: o.decisionsMaxAgeSec * NS_PER_SEC,
    },
    { ...base, name: STREAM_DLQ, subjects: ['walrus.dlq.>'], max_age: o.dlqMaxAgeSec * NS_PER_SEC },
  ];
}

/** The subjects of the alerts, in WALRUS_DECISIONS; a stream an older walrus created lacks them. */
export const ALERT_SUBJECTS = 'walrus.alert.>';
/** The subjects of the effects of changes (issue 25), likewise. */
export const EFFECT_SUBJECTS = 'walrus.effect.>';

/**
 * Adds `subjects` to an existing stream that lacks them (a stream created by
 * an older walrus), keeping everything else as it is; idempotent. Returns
 * what it added. Needs `$JS.API.STREAM.UPDATE.<stream>`; the caller decides
 * what a refusal means.
 */
export async function ensureStreamSubjects(jsm: JetStreamManager, stream: string, subjects: readonly string[], log: Logger): Promise<string[]> {
  const info = await jsm.streams.info(stream);
  const have = info.config.subjects ?? [];
  const missing = subjects.filter((s) => !have.includes(s));
  if (missing.length === 0) return [];
  await jsm.streams.update(stream, { ...info.config, subjects: [...have, ...missing] });
  log.info({ stream, added: missing, subjects: [...have, ...missing] }, 'added subjects to a stream created by an older walrus');
  return missing;
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

import { createInbox, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** What JetStream answered to a publish. */
export interface PubAck {
  stream: string;
  seq: number;
  /** True when the message id was already stored within the duplicate window. */
  duplicate: boolean;
}

/** A stored message read by a direct get. */
export interface StoredMsg {
  seq: number;
  subject: string;
  data: Uint8Array;
  /** When the stream stored it (ms since the epoch); NaN when the reply does not say. */
  timeMs: number;
  /** The original message's headers (e.g. KV-Operation), as the server returned them. */
  header(name: string): string | undefined;
}

/** JetStream refused a request; `errCode` is JetStream's own (10071 = wrong last sequence). */
export class JetStreamApiError extends Error {
  override name = 'JetStreamApiError';
  constructor(
    readonly code: number,
    readonly errCode: number,
    description: string,
  ) {
    super(description);
  }
}

export class JetStreamRequestTimeoutError extends Error {
  override name = 'JetStreamRequestTimeoutError';
}

export class JetStreamNoRespondersError extends Error {
  override name = 'JetStreamNoRespondersError';
}

interface Pending {
  subject: string;
  resolve(m: Msg): void;
  reject(e: Error): void;
  deadline: number;
}

/**
 * The three JetStream requests a decider makes for every sample (read state,
 * publish decision, write state), made lean: one reply subscription and one
 * deadline sweep for all requests, and the outgoing messages of one
 * event-loop turn written to the socket together.
 *
 * Why not nats.js's own `js.publish` / `kv.get` / `kv.update`: each request
 * there allocates a timer, a `Promise.race` and, when it completes, an Error
 * with a captured stack trace (for a cancellation nobody sees) — about a
 * quarter of a decider's CPU at thousands of samples per second, measured
 * with `pnpm bench:fleet -- --profile DIR` (docs/SCALING.md). The wire
 * protocol used here is JetStream's documented one: a publish answered with
 * a PubAck, `Nats-Msg-Id` / `Nats-Expected-Last-Subject-Sequence` headers,
 * and `$JS.API.DIRECT.GET.<stream>.<subject>` (NATS 2.9+, streams with
 * allow_direct).
 */
export class JetStreamRequests {
  private readonly pending = new Map<string, Pending>();
  private readonly base: string;
  private readonly sub: Subscription;
  private readonly sweep: NodeJS.Timeout;
  private next = 0;
  /** Messages to publish at the end of this event-loop turn. */
  private outbox: Array<() => void> = [];
  private flushScheduled = false;
  private closed = false;

  private readonly timeoutMs: number;

  constructor(
    private readonly nc: NatsConnection,
    opts: { inboxPrefix?: string; timeoutMs?: number } = {},
  ) {
    const timeoutMs = opts.timeoutMs ?? 5000;
    this.timeoutMs = timeoutMs;
    this.base = `${createInbox(opts.inboxPrefix)}.`;
    this.sub = nc.subscribe(`${this.base}*`, { callback: (err, msg) => (err ? this.failAll(err) : this.reply(msg)) });
    // One timer for every request: expired ones are failed at most ~100 ms late.
    this.sweep = setInterval(() => this.expire(), Math.min(100, timeoutMs));
    this.sweep.unref();
    // closed() resolves (never rejects) when the connection ends, for good.
    void nc.closed().then(() => this.close());
  }

  /** Publishes to a stream and resolves with its acknowledgement; rejects with JetStreamApiError when refused. */
  async publish(
    subject: string,
    data: Uint8Array | string,
    opts: { msgId?: string; expectedLastSubjectSeq?: number; headers?: Readonly<Record<string, string>> } = {},
  ): Promise<PubAck> {
    const h = natsHeaders();
    if (opts.msgId !== undefined) h.set('Nats-Msg-Id', opts.msgId);
    if (opts.expectedLastSubjectSeq !== undefined) h.set('Nats-Expected-Last-Subject-Sequence', String(opts.expectedLastSubjectSeq));
    if (opts.headers) for (const [name, value] of Object.entries(opts.headers)) h.set(name, value);
    const reply = await this.request(subject, data, h.keys().length > 0 ? h : undefined);
    const ack = parseJson(reply) as { stream?: string; seq?: number; duplicate?: boolean; error?: { code?: number; err_code?: number; description?: string } };
    if (ack.error) throw new JetStreamApiError(ack.error.code ?? 0, ack.error.err_code ?? 0, ack.error.description ?? 'JetStream error');
    if (typeof ack.seq !== 'number' || typeof ack.stream !== 'string') throw new Error(`unexpected publish acknowledgement on ${subject}`);
    return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate === true };
  }

  /** The last message stored on `subject` in `stream` (direct get), or null when there is none. */
  async lastBySubject(stream: string, subject: string): Promise<StoredMsg | null> {
    const reply = await this.request(`$JS.API.DIRECT.GET.${stream}.${subject}`, new Uint8Array(0));
    const h = reply.headers;
    if (h?.code === 404) return null;
    if (h && h.code >= 400) throw new JetStreamApiError(h.code, 0, h.description || `direct get failed (${h.code})`);
    const seq = Number(h?.get('Nats-Sequence'));
    if (!h || !Number.isSafeInteger(seq)) throw new Error(`unexpected direct get reply for ${subject}`);
    const timeMs = Date.parse(h.get('Nats-Time-Stamp'));
    return { seq, subject: h.get('Nats-Subject') || subject, data: reply.data, timeMs, header: (name) => h.get(name) || undefined };
  }

  /**
   * The same, answered by the stream's leader ($JS.API.STREAM.MSG.GET): for
   * replicated streams, where a direct get may be answered by a follower
   * that has not applied the latest write yet.
   */
  lastBySubjectFromLeader(stream: string, subject: string): Promise<StoredMsg | null> {
    return this.getFromLeader(stream, { last_by_subj: subject });
  }

  /** The first message on `subject` at or after sequence `seq`, from the stream's leader, or null. */
  nextBySubjectFromLeader(stream: string, subject: string, seq: number): Promise<StoredMsg | null> {
    return this.getFromLeader(stream, { seq, next_by_subj: subject });
  }

  private async getFromLeader(stream: string, query: Record<string, string | number>): Promise<StoredMsg | null> {
    const reply = await this.request(`$JS.API.STREAM.MSG.GET.${stream}`, JSON.stringify(query));
    const r = parseJson(reply) as {
      message?: { subject?: string; seq?: number; hdrs?: string; data?: string; time?: string };
      error?: { code?: number; err_code?: number; description?: string };
    };
    if (r.error?.err_code === 10037 || r.error?.code === 404) return null; // no message found
    if (r.error) throw new JetStreamApiError(r.error.code ?? 0, r.error.err_code ?? 0, r.error.description ?? 'JetStream error');
    const m = r.message;
    if (!m || typeof m.seq !== 'number') throw new Error(`unexpected message get reply from ${stream}`);
    const headers = parseHeaderBlock(m.hdrs ? Buffer.from(m.hdrs, 'base64').toString('utf8') : '');
    return {
      seq: m.seq,
      subject: m.subject ?? '',
      data: m.data ? new Uint8Array(Buffer.from(m.data, 'base64')) : new Uint8Array(0),
      timeMs: m.time ? Date.parse(m.time) : NaN,
      header: (name) => headers.get(name.toLowerCase()),
    };
  }

  /** Runs `fn` (a publish without reply, e.g. an acknowledgement) with this turn's other writes. */
  later(fn: () => void): void {
    this.outbox.push(fn);
    this.scheduleFlush();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweep);
    this.flush();
    this.failAll(new Error('NATS connection closed'));
    if (!this.nc.isClosed()) this.sub.unsubscribe();
  }

  private request(subject: string, data: Uint8Array | string, headers?: ReturnType<typeof natsHeaders>): Promise<Msg> {
    if (this.closed) return Promise.reject(new Error('NATS connection closed'));
    const token = (this.next++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      this.pending.set(token, { subject, resolve, reject, deadline: Date.now() + this.timeoutMs });
      this.later(() => {
        try {
          this.nc.publish(subject, data, { reply: this.base + token, ...(headers ? { headers } : {}) });
        } catch (err) {
          this.pending.delete(token);
          reject(err);
        }
      });
    });
  }

  private reply(msg: Msg): void {
    const token = msg.subject.slice(this.base.length);
    const p = this.pending.get(token);
    if (!p) return; // expired already
    this.pending.delete(token);
    // A status-only 503 means nobody listens (no JetStream, or no leader right now).
    if (msg.data.length === 0 && msg.headers?.code === 503) p.reject(new JetStreamNoRespondersError(`no responders for ${p.subject}: JetStream not available`));
    else p.resolve(msg);
  }

  private expire(): void {
    const now = Date.now();
    for (const [token, p] of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(token);
        p.reject(new JetStreamRequestTimeoutError(`JetStream request on ${p.subject} timed out after ${this.timeoutMs} ms`));
      }
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After this turn's I/O callbacks and their promise continuations: the
    // client then sends everything queued meanwhile in one socket write.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.outbox;
    this.outbox = [];
    for (const fn of batch) {
      try {
        fn();
      } catch {
        // Requests reject their own promise (see request). What else fails
        // here is an acknowledgement on a closed connection: JetStream
        // redelivers the message after the ack wait, so nothing is lost.
      }
    }
  }
}

const decoder = new TextDecoder();

/** "NATS/1.0\r\nName: value\r\n…" as stored with a message; names lower-cased. */
function parseHeaderBlock(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return out;
}

function parseJson(msg: Msg): unknown {
  try {
    return JSON.parse(decoder.decode(msg.data));
  } catch {
    throw new Error(`unreadable JetStream reply on ${msg.subject}`);
  }
}

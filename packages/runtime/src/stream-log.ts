import type { z } from 'zod';
import { decodeMessage } from './decode.js';
import type { JetStreamRequests } from './js-requests.js';

/** One stored message of a subject: its sequence, the stream's time, and its payload (null when it is not valid). */
export interface Logged<T> {
  seq: number;
  timeMs: number;
  value: T | null;
}

/**
 * One subject of a stream read as a log, straight from the stream's leader
 * (never a lagging replica): how a service that shares a durable consumer
 * with others catches up, in stream order, on the messages of one key that
 * another process received but did not finish (the deciders' samples, the
 * appliers' decisions; docs/SCALING.md). Invalid messages come back with
 * `value: null`: whoever receives them dead-letters them.
 */
export class StreamLog<S extends z.ZodType> {
  constructor(
    private readonly requests: JetStreamRequests,
    private readonly stream: string,
    private readonly schema: S,
  ) {}

  /** The first message on `subject` at or after `seq`, or null. */
  async next(subject: string, seq: number): Promise<Logged<z.infer<S>> | null> {
    const m = await this.requests.nextBySubjectFromLeader(this.stream, subject, seq);
    if (!m) return null;
    const decoded = decodeMessage(this.schema, m.data);
    return { seq: m.seq, timeMs: m.timeMs, value: decoded.ok ? decoded.value : null };
  }

  /** The messages on `subject` stored after `afterSeq` and before `beforeSeq`, in order. */
  async between(subject: string, afterSeq: number, beforeSeq: number): Promise<Array<Logged<z.infer<S>>>> {
    const out: Array<Logged<z.infer<S>>> = [];
    for (let from = afterSeq + 1; from < beforeSeq; ) {
      const m = await this.next(subject, from);
      if (!m || m.seq >= beforeSeq) break;
      out.push(m);
      from = m.seq + 1;
    }
    return out;
  }
}

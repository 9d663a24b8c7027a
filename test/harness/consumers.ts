import { AckPolicy, jetstreamManager, type ConsumerInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { waitFor } from './mod.js';

/*
 * What the durable consumers of a stream have done with its messages, as
 * JetStream itself tells: the event that proves a negative. A message a
 * service has acknowledged is handled (walrus's services publish what a
 * message causes before they acknowledge it) and is never delivered again;
 * one still waiting for its acknowledgement (in hand, retried, or held by a
 * killed process until the ack wait ends) may still cause something. So
 * "nothing more comes" is checked once the consumers have acknowledged
 * everything, never after a pause.
 */

/** Whether NATS subjects `a` and `b` (each may hold `*` and `>`) can name the same message. */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === undefined || q === undefined) return p === q;
    // `>` stands for one or more tokens: the other side has one here.
    if (p === '>' || q === '>') return true;
    if (p !== '*' && q !== '*' && p !== q) return false;
  }
}

/** The durable, explicitly acknowledging consumers of `stream` that receive messages on `subject`. */
export async function consumersOf(nc: NatsConnection, stream: string, subject: string): Promise<ConsumerInfo[]> {
  const jsm = await jetstreamManager(nc);
  const all = await jsm.consumers.list(stream).next();
  return all.filter((c) => {
    if (!c.config.durable_name || c.config.ack_policy !== AckPolicy.Explicit) return false;
    const filters = [c.config.filter_subject, ...(c.config.filter_subjects ?? [])].filter((f): f is string => Boolean(f));
    return filters.length === 0 || filters.some((f) => subjectsOverlap(f, subject));
  });
}

/** The stream sequence of the last message stored on `subject`. */
export async function lastSeqOf(nc: NatsConnection, stream: string, subject: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  if (!m) throw new Error(`no message on ${subject} in ${stream}`);
  return m.seq;
}

interface Wait {
  what: string;
  timeoutMs?: number;
}

/**
 * Waits until every consumer of `stream` receiving `subject` has acknowledged
 * everything up to stream sequence `seq`: each of those messages is handled,
 * and none of them will be delivered again.
 */
export async function waitAcknowledged(nc: NatsConnection, stream: string, subject: string, seq: number, wait: Wait): Promise<void> {
  await waitFor(
    async () => {
      // A JetStream cluster electing a leader answers nothing for a moment: ask again.
      const consumers = await consumersOf(nc, stream, subject).catch(() => []);
      return (consumers.length > 0 && consumers.every((c) => c.ack_floor.stream_seq >= seq)) || null;
    },
    { what: `${wait.what} (every consumer of ${subject} on ${stream} acknowledged through sequence ${seq})`, timeoutMs: wait.timeoutMs, intervalMs: 250 },
  );
}

/**
 * Waits until every consumer of `stream` receiving `subject` has been
 * delivered every message stored so far and has acknowledged each: nothing
 * waits, nothing is in hand, nothing will be redelivered.
 */
export async function waitSettled(nc: NatsConnection, stream: string, subject: string, wait: Wait): Promise<void> {
  await waitFor(
    async () => {
      const consumers = await consumersOf(nc, stream, subject).catch(() => []);
      return (consumers.length > 0 && consumers.every((c) => c.num_pending === 0 && c.num_ack_pending === 0)) || null;
    },
    { what: `${wait.what} (every consumer of ${subject} on ${stream} with nothing pending and nothing unacknowledged)`, timeoutMs: wait.timeoutMs, intervalMs: 250 },
  );
}

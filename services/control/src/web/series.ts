import { DeliverPolicy, jetstream, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ApplyResultV1, appliedSubject, DecisionV1, decisionSubject, EffectV1, effectSubject, SampleV1, sampleSubject, STREAM_DECISIONS, STREAM_SAMPLES, effectSummary } from '@walrus/core';
import type { z } from 'zod';
import type { Series } from './types.js';

/** Most points a chart gets: beyond this the oldest are dropped. */
const MAX_MESSAGES = 2000;

/**
 * One cluster's recent history for the chart, read straight from the
 * streams (so it works without the history database): samples from
 * WALRUS_SAMPLES, decisions and outcomes from WALRUS_DECISIONS.
 */
export async function readSeries(nc: NatsConnection, jsm: JetStreamManager, cluster: string, sinceMs: number): Promise<Series> {
  const since = new Date(sinceMs).toISOString();
  const [samples, decisions, outcomes, effects] = await Promise.all([
    readSubject(nc, jsm, STREAM_SAMPLES, sampleSubject(cluster), since, SampleV1),
    readSubject(nc, jsm, STREAM_DECISIONS, decisionSubject(cluster), since, DecisionV1),
    readSubject(nc, jsm, STREAM_DECISIONS, appliedSubject(cluster), since, ApplyResultV1),
    readSubject(nc, jsm, STREAM_DECISIONS, effectSubject(cluster), since, EffectV1),
  ]);
  const status = new Map(outcomes.map((o) => [o.decision_id, o.status]));
  const effectOf = new Map(effects.map((e) => [e.decision_id, effectSummary(e)]));
  let prev: number | null = null;
  const points = samples.map((s) => {
    const forced = prev === null || s.checkpoints_requested < prev ? null : s.checkpoints_requested - prev;
    prev = s.checkpoints_requested;
    return { t: s.collected_at, max_wal_size_mb: s.max_wal_size_mb, checkpoints_requested: s.checkpoints_requested, forced };
  });
  return {
    cluster,
    since,
    points,
    decisions: decisions.map((d) => ({
      t: d.sample_at,
      id: d.id,
      action: d.action,
      old_size_mb: d.old_size_mb,
      new_size_mb: d.new_size_mb,
      reason: d.reason,
      apply_status: status.get(d.id) ?? null,
      effect: effectOf.get(d.id) ?? null,
    })),
  };
}


/** Messages of one subject stored since `since`, oldest first, through an ordered consumer (one filter subject: NATS 2.9). */
async function readSubject<S extends z.ZodType>(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  since: string,
  schema: S,
): Promise<Array<z.infer<S>>> {
  // Without a message since `since`, a fetch would only end at its expiry: ask first.
  const last = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null);
  if (!last || last.time.getTime() < Date.parse(since)) return [];
  const consumer = await jetstream(nc).consumers.get(stream, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: since,
  });
  const out: Array<z.infer<S>> = [];
  const messages = await consumer.fetch({ max_messages: MAX_MESSAGES, expires: 3000 });
  for await (const m of messages) {
    try {
      const parsed = schema.safeParse(m.json());
      if (parsed.success) out.push(parsed.data);
    } catch {
      // not JSON: the DLQ's business, not the chart's
    }
    if (m.info.pending === 0 || m.seq >= last.seq) break;
  }
  await consumer.delete().catch(() => undefined);
  return out;
}

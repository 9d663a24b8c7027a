import type { JsMsg } from '@nats-io/jetstream';
import { DecisionV1, decisionSubject, isExecutable, isValidClusterId, STREAM_DECISIONS, type AppliedRecord, type Decision } from '@walrus/core';
import { ack, decodeMessage, StreamLog, type JetStreamRequests, type Logger, type Outcome } from '@walrus/runtime';
import { RecordConflictError, type AppliedRecords } from './applied-records.js';
import type { CarryOut } from './carry-out.js';
import type { ApplierMetrics } from './metrics.js';
import type { ServedCluster } from './served.js';

/** How long a decision waits, handed back, while an earlier one of its cluster is in another applier's hands. */
const BUSY_RETRY_MS = 2000;

export interface SharedOptions {
  records: AppliedRecords;
  requests: JetStreamRequests;
  log: Logger;
  metrics: ApplierMetrics;
  carryOut: CarryOut;
  /** The cluster's connection, opened on demand from the registry; null when not registered. */
  served: (cluster: string) => Promise<ServedCluster | null>;
  /** Who writes the records (this process). */
  by: string;
  /** WALRUS_APPLIER_LOOKBACK_SEC: how far back a cluster without a record is caught up. */
  lookbackMs: number;
}

const PREFIX = 'walrus.decision.';

/**
 * A decision on the consumer every applier of the registry shares
 * (docs/SCALING.md, "Appliers share the decisions"). Any applier may be
 * handed any cluster's decision, so each cluster's are carried out in stream
 * order through its record in walrus_applied: first every earlier decision
 * of the cluster not yet taken in hand (read from the stream), then this
 * one; each executable one with its intent written before ALTER SYSTEM and
 * `done` after the outcome is published. A decision at or below the record
 * is acknowledged and nothing else. A record conflict means another applier
 * moved the cluster on: read it again.
 */
export function sharedDecisionHandler(o: SharedOptions) {
  const log = new StreamLog(o.requests, STREAM_DECISIONS, DecisionV1);

  /** The cluster's decisions stored before `seq` that its record has not seen. */
  const unapplied = async (cluster: string, record: AppliedRecord | null, seq: number, storedMs: number) => {
    const subject = decisionSubject(cluster);
    if (record) return log.between(subject, record.seq, seq);
    // No record: a cluster new to the shared consumer, whose first decisions
    // may be in other appliers' hands. Decisions stored long before this one
    // predate the record (an applier of a static list applied them): not replayed.
    const first = await log.next(subject, 1);
    if (!first || first.seq >= seq || first.timeMs < storedMs - o.lookbackMs) return [];
    return [first, ...(await log.between(subject, first.seq, seq))];
  };

  /** Carries out one decision under the record; returns the revision after, or an outcome that ends the round. */
  const one = async (
    cluster: string,
    item: { seq: number; d: Decision },
    revision: number,
    msg: JsMsg,
    recovering: boolean,
  ): Promise<{ revision: number } | { outcome: Outcome }> => {
    const { d } = item;
    const record = (state: AppliedRecord['state']): AppliedRecord => ({ v: 1, seq: item.seq, decision_id: d.id, state, by: o.by });
    if (!isExecutable(d.action)) return { revision: await o.records.save(cluster, record('done'), revision) };
    let rev = revision;
    if (!recovering) rev = await o.records.save(cluster, record('applying'), rev);
    const outcome = await o.carryOut(cluster, await o.served(cluster), d, msg);
    // Stopping half-way: the intent stays; whoever is handed the decision next finishes it.
    if (outcome.kind !== 'ack') return { outcome };
    return { revision: await o.records.save(cluster, record('done'), rev) };
  };

  return async (msg: JsMsg): Promise<Outcome> => {
    const cluster = msg.subject.startsWith(PREFIX) ? msg.subject.slice(PREFIX.length) : '';
    const decoded = decodeMessage(DecisionV1, msg.data);
    if (!decoded.ok) return { kind: 'reject', reason: decoded.reason };
    if (!isValidClusterId(cluster)) return { kind: 'reject', reason: `not a decision subject: ${msg.subject}` };
    const storedMs = Math.floor(msg.info.timestampNanos / 1e6);
    for (let round = 0; round < 20; round++) {
      const { record, revision } = await o.records.load(cluster);
      try {
        if (record && record.seq >= msg.seq) {
          if (record.seq === msg.seq && record.state === 'applying') {
            // Handed a decision whose intent is recorded: its earlier holder stopped while applying it.
            o.metrics.recovered.inc();
            o.log.warn({ cluster, decisionId: decoded.value.id, by: record.by }, 'an applier stopped while applying this decision: reading the value back to finish it');
            const r = await one(cluster, { seq: msg.seq, d: decoded.value }, revision, msg, true);
            return 'outcome' in r ? r.outcome : ack;
          }
          return ack;
        }
        if (record?.state === 'applying') {
          return { kind: 'retry', delayMs: BUSY_RETRY_MS, reason: `decision ${record.decision_id} of ${cluster} (stream sequence ${record.seq}) is being applied by ${record.by}` };
        }
        let rev = revision;
        for (const e of await unapplied(cluster, record, msg.seq, storedMs)) {
          // Invalid or misplaced: dead-lettered by whoever receives it; skipped here.
          if (e.value === null || e.value.cluster !== cluster) continue;
          o.metrics.caughtUp.inc();
          const r = await one(cluster, { seq: e.seq, d: e.value }, rev, msg, false);
          if ('outcome' in r) return r.outcome;
          rev = r.revision;
        }
        const r = await one(cluster, { seq: msg.seq, d: decoded.value }, rev, msg, false);
        return 'outcome' in r ? r.outcome : ack;
      } catch (err) {
        if (err instanceof RecordConflictError) continue;
        throw err;
      }
    }
    return { kind: 'retry', delayMs: BUSY_RETRY_MS, reason: `the applied record of ${cluster} kept changing` };
  };
}

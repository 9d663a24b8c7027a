import type { JsMsg } from '@nats-io/jetstream';
import { DecisionV1, decisionSubject, isExecutable, isValidClusterId, STREAM_DECISIONS, type AppliedRecord, type Decision } from '@walrus/core';
import { ack, decodeMessage, StreamLog, type JetStreamRequests, type Logger, type Outcome } from '@walrus/runtime';
import { RecordConflictError, type AppliedRecords } from './applied-records.js';
import type { CarryOut } from './carry-out.js';
import type { ApplierMetrics } from './metrics.js';
import type { ServedCluster } from './served.js';

/** How long a decision waits, handed back, while an earlier one of its cluster is not applied yet. */
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
  /** WALRUS_APPLIER_LOOKBACK_SEC: decisions stored longer ago than this are not waited for. */
  lookbackMs: number;
  now: () => Date;
}

const PREFIX = 'walrus.decision.';

/**
 * A decision on the consumer every applier of the registry shares
 * (docs/SCALING.md, "Appliers share the decisions"). Any applier may be
 * handed any cluster's decision; each cluster's are carried out one at a
 * time and in stream order through its record in walrus_applied:
 *
 * - only the applier holding a decision's message writes its record
 *   (JetStream hands a message to one holder at a time: a holder that dies
 *   or stalls loses it at the ack wait), first `applying` (the intent,
 *   before ALTER SYSTEM), then `done` once its outcome is published;
 * - a decision is taken in hand only when every earlier executable
 *   decision of its cluster is done: while one is not (its holder is at it,
 *   or it waits for its turn in another applier), the decision is handed
 *   back for BUSY_RETRY_MS;
 * - a decision at or below the record is acknowledged and nothing else,
 *   except one whose intent is recorded: its earlier holder stopped while
 *   applying it, and the new holder finishes it (the value read back, the
 *   same outcome published, nothing run twice: apply-decision.ts).
 *
 * A record conflict means another applier moved the cluster on: read it again.
 */
export function sharedDecisionHandler(o: SharedOptions) {
  const log = new StreamLog(o.requests, STREAM_DECISIONS, DecisionV1);

  /** An executable decision of the cluster stored after the record and before `seq`, not done yet; null when none. */
  const waitingBefore = async (cluster: string, record: AppliedRecord | null, seq: number): Promise<number | null> => {
    const subject = decisionSubject(cluster);
    // Without a record, decisions older than the lookback may never be delivered (the consumer started after them): not waited for.
    const oldest = o.now().getTime() - o.lookbackMs;
    for (let from = (record?.seq ?? 0) + 1; from < seq; ) {
      const m = await log.next(subject, from);
      if (!m || m.seq >= seq) return null;
      // Invalid or misplaced: dead-lettered by whoever receives it. Informational: nothing to wait for.
      if (m.value !== null && m.value.cluster === cluster && isExecutable(m.value.action) && (record !== null || m.timeMs >= oldest)) return m.seq;
      from = m.seq + 1;
    }
    return null;
  };

  const carry = async (cluster: string, seq: number, d: Decision, revision: number, msg: JsMsg, recovering: boolean): Promise<Outcome> => {
    const record = (state: AppliedRecord['state']): AppliedRecord => ({ v: 1, seq, decision_id: d.id, state, by: o.by });
    if (!isExecutable(d.action)) {
      await o.records.save(cluster, record('done'), revision);
      return ack;
    }
    const rev = recovering ? revision : await o.records.save(cluster, record('applying'), revision);
    const outcome = await o.carryOut(cluster, () => o.served(cluster), d, msg);
    // Stopping half-way: the intent stays; whoever is handed the decision next finishes it.
    if (outcome.kind !== 'ack') return outcome;
    await o.records.save(cluster, record('done'), rev);
    return ack;
  };

  return async (msg: JsMsg): Promise<Outcome> => {
    const cluster = msg.subject.startsWith(PREFIX) ? msg.subject.slice(PREFIX.length) : '';
    const decoded = decodeMessage(DecisionV1, msg.data);
    if (!decoded.ok) return { kind: 'reject', reason: decoded.reason };
    if (!isValidClusterId(cluster)) return { kind: 'reject', reason: `not a decision subject: ${msg.subject}` };
    const d = decoded.value;
    for (let round = 0; round < 20; round++) {
      const { record, revision } = await o.records.load(cluster);
      try {
        if (record && record.seq >= msg.seq) {
          if (record.seq !== msg.seq || record.state !== 'applying') return ack;
          // This decision's intent is recorded, and its message is in our hands: its earlier holder stopped while applying it.
          o.metrics.recovered.inc();
          o.log.warn({ cluster, decisionId: d.id, by: record.by }, 'an applier stopped while applying this decision: reading the value back to finish it');
          return await carry(cluster, msg.seq, d, revision, msg, true);
        }
        if (record?.state === 'applying') {
          return { kind: 'retry', delayMs: BUSY_RETRY_MS, reason: `decision ${record.decision_id} of ${cluster} (stream sequence ${record.seq}) is being applied by ${record.by}`, waiting: true };
        }
        const earlier = await waitingBefore(cluster, record, msg.seq);
        if (earlier !== null) {
          o.metrics.waited.inc();
          return { kind: 'retry', delayMs: BUSY_RETRY_MS, reason: `an earlier decision of ${cluster} (stream sequence ${earlier}) is not applied yet`, waiting: true };
        }
        return await carry(cluster, msg.seq, d, revision, msg, false);
      } catch (err) {
        if (err instanceof RecordConflictError) continue;
        throw err;
      }
    }
    return { kind: 'retry', delayMs: BUSY_RETRY_MS, reason: `the applied record of ${cluster} kept changing` };
  };
}

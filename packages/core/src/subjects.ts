/** Subject and stream names fixed by ARCHITECTURE §2. */
export const STREAM_SAMPLES = 'WALRUS_SAMPLES';
export const STREAM_DECISIONS = 'WALRUS_DECISIONS';
export const STREAM_DLQ = 'WALRUS_DLQ';
export const KV_STATE_BUCKET = 'walrus_state';

export const sampleSubject = (cluster: string): string => `walrus.sample.${cluster}`;
export const decisionSubject = (cluster: string): string => `walrus.decision.${cluster}`;
export const appliedSubject = (cluster: string): string => `walrus.applied.${cluster}`;
export const alertSubject = (cluster: string): string => `walrus.alert.${cluster}`;
/** What an applied change did (effect-schemas.ts), stored in WALRUS_DECISIONS. */
export const effectSubject = (cluster: string): string => `walrus.effect.${cluster}`;
export const dlqSubject = (service: string): string => `walrus.dlq.${service}`;

/** Message ids make a retried JetStream publish land once (Nats-Msg-Id). */
export const sampleMsgId = (cluster: string, collectedAt: string): string =>
  `${cluster}:${Date.parse(collectedAt)}`;
/** A sample of one member of a cluster with several: members sampled in the same millisecond must not share an id. */
export const memberSampleMsgId = (cluster: string, member: string, collectedAt: string): string =>
  `${cluster}:${member}:${Date.parse(collectedAt)}`;
export const decisionMsgId = (decisionId: string): string => `decision:${decisionId}`;
export const applyResultMsgId = (decisionId: string, status: string): string =>
  `applied:${decisionId}:${status}`;
export const alertMsgId = (alertId: string): string => `alert:${alertId}`;
/** One effect per decision: judged twice (a sample redelivered), stored once. */
export const effectMsgId = (decisionId: string): string => `effect:${decisionId}`;

/** Header of a sample: the collector's sample interval for the cluster, in seconds (what `no_samples` counts in). */
export const SAMPLE_INTERVAL_HEADER = 'Walrus-Sample-Interval';

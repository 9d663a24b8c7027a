import { z } from 'zod';

/*
 * Appliers sharing the registry keep, per cluster, how far its decisions
 * have been carried out, in the KV bucket `walrus_applied` (key = cluster
 * id), written with the KV revision so that two appliers never both move one
 * cluster on (docs/SCALING.md, "Appliers share the decisions").
 */

export const KV_APPLIED_BUCKET = 'walrus_applied';

/** The durable consumer every applier serving the registry shares, on `walrus.decision.>`. */
export const SHARED_APPLIER_CONSUMER = 'walrus-applier';

export const AppliedRecordV1 = z.object({
  v: z.literal(1),
  /** Stream sequence (WALRUS_DECISIONS) of the cluster's last decision taken in hand. */
  seq: z.number().int().positive(),
  decision_id: z.string(),
  /**
   * `applying`: the intent, written before ALTER SYSTEM; an applier that
   * finds it on the decision it was handed knows the change was under way,
   * reads the value back and publishes the outcome (same message id),
   * without running it twice. `done`: the outcome is published.
   */
  state: z.enum(['applying', 'done']),
  /** The applier that wrote it (its process), for the logs. */
  by: z.string().max(200),
});
export type AppliedRecord = z.infer<typeof AppliedRecordV1>;

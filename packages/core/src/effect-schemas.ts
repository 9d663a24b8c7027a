import { z } from 'zod';
import { ClusterId } from './cluster-id.js';

/*
 * What an applied change of max_wal_size did (issue 25 item 4): published by
 * the decider on `walrus.effect.<cluster>` (stream WALRUS_DECISIONS) once
 * walrus.effect_intervals checkpoint_timeouts of samples have followed the
 * change in force, and stored by the historian beside the decision
 * (walrus.history.effect). docs/ARCHITECTURE.md "Effect (v1)".
 */

const IsoTime = z.iso.datetime({ offset: true });
const NonNegative = z.number().min(0);

/** One span of samples, before or after a change: rates over its length. */
export const EffectSpanV1 = z.strictObject({
  /** Length of the span, seconds. */
  seconds: NonNegative,
  /** Requested checkpoints in it, and per hour; how many of them WAL volume can have caused (the redo-point rule), and the rest. */
  forced_checkpoints: z.number().int().min(0),
  forced_per_hour: NonNegative,
  wal_caused_per_hour: NonNegative,
  other_per_hour: NonNegative,
  wal_bytes_per_second: NonNegative,
  /** Time the checkpointer spent writing and syncing in the span (ms); null when the samples do not say. */
  checkpoint_write_ms: NonNegative.nullable(),
  checkpoint_sync_ms: NonNegative.nullable(),
  /** Full-page images per committed transaction; null when the samples do not say or nothing committed. */
  fpi_per_transaction: NonNegative.nullable(),
  transactions: z.number().int().min(0).nullable(),
});
export type EffectSpan = z.infer<typeof EffectSpanV1>;

export const EFFECT_VERDICTS = ['helped', 'not_helped', 'nothing_to_relieve', 'shrink_held', 'shrink_forced'] as const;
export type EffectVerdict = (typeof EFFECT_VERDICTS)[number];
/** Why a growth did not relieve forced checkpoints. */
export const EFFECT_FLAGS = ['cap_hit', 'forced_elsewhere', 'load_grew', 'unexplained'] as const;
export type EffectFlag = (typeof EFFECT_FLAGS)[number];

export const EffectV1 = z.strictObject({
  v: z.literal(1),
  cluster: ClusterId,
  decision_id: z.uuid(),
  action: z.enum(['increase', 'capped', 'decrease']),
  /** What the change was for: its decision's metadata.trigger (forced_checkpoints, proactive, recurring) or `shrink`. */
  cause: z.string().min(1).max(64),
  from_mb: z.number().int().min(0),
  to_mb: z.number().int().min(0),
  /** sample_at of the decision, the first sample that showed the new size, and the sample that closed the span after it. */
  decided_at: IsoTime,
  in_force_at: IsoTime,
  judged_at: IsoTime,
  before: EffectSpanV1,
  after: EffectSpanV1,
  /**
   * helped: a growth after which forced checkpoints fell; not_helped: they
   * did not (flag says why); nothing_to_relieve: a growth with none before
   * and none after; shrink_held: a shrink after which no checkpoint was
   * forced; shrink_forced: one after which some were.
   */
  verdict: z.enum(EFFECT_VERDICTS),
  flag: z.enum(EFFECT_FLAGS).nullable(),
  /** The next growth for the same cause is held back (decisions `skipped`, metadata.blocked_by `no_effect`). */
  holds_next_growth: z.boolean(),
  reason: z.string(),
});
export type Effect = z.infer<typeof EffectV1>;

/** An effect in a few words, as `walrus history` and the live page show it (the page's app.js writes the same). */
export function effectSummary(e: Effect): string {
  return `${e.verdict}${e.flag ? ` (${e.flag})` : ''}: forced/h ${e.before.forced_per_hour} -> ${e.after.forced_per_hour}${e.holds_next_growth ? '; next growth held' : ''}`;
}

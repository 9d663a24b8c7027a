import { z } from 'zod';

/*
 * Pieces of the cluster state that every version since 1 shares unchanged.
 * Frozen: a version's schema must keep reading what deciders of that
 * version wrote, so a piece that changes is copied into the versions that
 * keep the old one, never edited in place.
 */

export const IsoTime = z.iso.datetime({ offset: true });
export const Count = z.number().int().min(0);
const Member = z.string().min(1).max(300);
const SizeMb = z.number().int().min(0);
const Timeline = z.number().int().positive().nullable();

/** What the engine last saw of one member of a cluster (for status, and the member rules). */
export const MemberFactsV1 = z.strictObject({
  /** `stale_primary`: last seen out of recovery on an older timeline than the primary's (an old primary not yet demoted, or gone). */
  role: z.enum(['primary', 'standby', 'stale_primary']),
  maxWalSizeMb: SizeMb,
  timeline: Timeline,
  /** collected_at of its last sample evaluated: rule 1 holds per member. */
  lastSampleAt: IsoTime,
  /** The last member-targeted decision for it: not repeated for the same sizes until `at` + its expiry. */
  sync: z.strictObject({ targetMb: SizeMb, fromMb: SizeMb, at: IsoTime }).optional(),
});
export type MemberFacts = z.infer<typeof MemberFactsV1>;

/** ARCHITECTURE §4's state per cluster, and the decider's bookkeeping beside it. */
export const RULE_FIELDS_V1 = {
  /** checkpoints_requested of the last evaluated sample; null until a baseline exists. */
  prevRequested: Count.nullable(),
  /** Consecutive evaluated intervals with fewer forced checkpoints than the threshold. */
  quietIntervals: Count,
  /** collected_at of the sample behind the last change (including dry-run ones). */
  lastAdjustmentAt: IsoTime.nullable(),
  /** When the current one-hour rate-limit window opened. */
  hourWindowStart: IsoTime.nullable(),
  /** Changes counted in the window that opened at hourWindowStart. */
  changesThisHour: Count,
  /** Executable decisions emitted (increase, capped, decrease); dry runs and skips excluded. */
  totalAdjustments: Count,
  /** collected_at of the last sample evaluated (UTC); older or equal samples are ignored. */
  lastSampleAt: IsoTime.nullable(),
  /** wal_bytes of the last sample evaluated, for algorithms working on the WAL rate. */
  prevWalBytes: z.number().min(0).nullable(),
  /**
   * Stream sequence (WALRUS_SAMPLES) of the last sample evaluated. Decider
   * bookkeeping, not a rule input: it lets any decider find, in stream order,
   * the samples of this cluster that nobody has evaluated yet. Absent in
   * states written before it existed.
   */
  sampleSeq: Count.optional(),
  /**
   * When JetStream stored the sample behind lastSampleAt (the NATS server's
   * clock): a later sample dated before lastSampleAt, though stored much
   * later, tells a collector clock that went back (engine/clock.ts). Absent
   * in states written before it existed.
   */
  lastSampleStoredAt: IsoTime.optional(),
} as const;

/**
 * Clusters whose samples name their member (engine/members.ts); absent for
 * the others and in states written before members existed.
 */
export const MEMBER_FIELDS_V1 = {
  /** Per member, what its last sample said. */
  members: z.record(Member, MemberFactsV1).optional(),
  /** The member taken for the primary, and its timeline; `demoted` once it was seen in recovery. */
  primary: z.strictObject({ member: Member, timeline: Timeline, since: IsoTime, demoted: z.boolean() }).optional(),
  /** The member whose counters prevRequested / prevWalBytes / lastSampleAt are (the primary, or a lone standby). */
  counterMember: Member.optional(),
  /**
   * The cluster's size: what walrus last put in force on the primary (a
   * decision's size while the applier may still be applying it, until
   * `pendingUntil`, unless the primary shows another), else what the
   * primary runs with. A new primary below it is brought back to it.
   */
  learned: z
    .strictObject({ sizeMb: SizeMb, at: IsoTime, pendingFromMb: SizeMb.nullable(), pendingUntil: IsoTime.nullable() })
    .optional(),
  /** Changes of primary (and of the primary's timeline) seen so far. */
  failovers: Count.optional(),
} as const;

import { z } from 'zod';
import { ClusterId } from './cluster-id.js';
import { WAL_DISK_SAMPLE_FIELDS } from './disk-schemas.js';

/** Largest value PostgreSQL accepts for max_wal_size (MB): INT_MAX. */
export const MAX_WAL_SIZE_LIMIT_MB = 2147483647;
/** Smallest value PostgreSQL accepts for max_wal_size (MB). */
export const MIN_WAL_SIZE_LIMIT_MB = 2;

const IsoTime = z.iso.datetime({ offset: true });
const SizeMb = z.number().int().min(0).max(MAX_WAL_SIZE_LIMIT_MB);
const Count = z.number().int().min(0);
/** A member of a cluster: `host:port` as configured (a hostname, an IPv4 or a bracketed IPv6 address). */
export const MemberName = z.string().min(3).max(300).regex(/^\S+:\d{1,5}$/, 'member must be host:port');

/** A collector's id: a KV key of the bucket walrus_collectors. */
export const CollectorId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'collector id must be 1 to 64 characters of [A-Za-z0-9_-]');

/**
 * Schemas are strict: an unknown field means a producer speaks another
 * version of the contract, which is a reason to dead-letter, not to guess.
 */
export const SampleV1 = z.strictObject({
  v: z.literal(1),
  cluster: ClusterId,
  collected_at: IsoTime,
  server_version_num: z.number().int().positive(),
  in_recovery: z.boolean(),
  checkpoints_requested: Count,
  checkpoints_timed: Count,
  stats_reset: IsoTime.nullable(),
  wal_lsn: z.string().regex(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/, 'wal_lsn must look like 16/B374D848'),
  wal_bytes: z.number().min(0),
  max_wal_size_mb: SizeMb,
  checkpoint_timeout_s: z.number().int().min(1),
  checkpoint_completion_target: z.number().min(0).max(1),
  settings: z.record(z.string().regex(/^walrus\.[a-z_]+$/), z.string()),
  /*
   * Optional additions (older collectors leave them out): the redo point of
   * the last checkpoint (`pg_control_checkpoint().redo_lsn` as a byte
   * position) and `wal_segment_size`. The redo distance between two samples
   * bounds how many requested checkpoints WAL volume can have caused, which
   * tells a storm of manual CHECKPOINTs from real WAL pressure.
   */
  checkpoint_redo_bytes: z.number().min(0).optional(),
  wal_segment_size_bytes: z.number().int().positive().optional(),
  /*
   * Optional (issue 25): cumulative checkpoint write and sync time (ms;
   * pg_stat_bgwriter.checkpoint_write_time / _sync_time on 15-16,
   * pg_stat_checkpointer.write_time / sync_time on 17+), full-page images
   * written (pg_stat_wal.wal_fpi) and committed transactions (the sum of
   * pg_stat_database.xact_commit): what a change's effect is judged by.
   */
  checkpoint_write_time_ms: z.number().min(0).optional(),
  checkpoint_sync_time_ms: z.number().min(0).optional(),
  wal_fpi: Count.optional(),
  xact_commit: Count.optional(),
  /**
   * Optional, by version (docs/POSTGRES-NOTES.md): PostgreSQL 18's
   * `pg_stat_checkpointer.num_done` (checkpoints really performed, where
   * num_timed / num_requested also count skipped ones), and 17+'s
   * restartpoint counters, which count a standby's checkpoints.
   */
  checkpoints_done: Count.optional(),
  restartpoints_requested: Count.optional(),
  restartpoints_timed: Count.optional(),
  restartpoints_done: Count.optional(),
  /* What holds WAL on disk (pg_wal, slots, wal_keep_size, the archiver): disk-schemas.ts. */
  ...WAL_DISK_SAMPLE_FIELDS,
  /*
   * Optional (ARCHITECTURE §7): the member the sample was read from
   * (`host:port` as configured) and its timeline. A cluster with several
   * members has one sample per member per interval on the same subject.
   */
  member: MemberName.optional(),
  timeline: z.number().int().positive().optional(),
  /*
   * Optional (ARCHITECTURE §8): the collector that read the sample (its
   * `WALRUS_COLLECTOR_ID`), so that `walrus status` shows which collector
   * serves each cluster.
   */
  collector: CollectorId.optional(),
});
export type Sample = z.infer<typeof SampleV1>;

export const DECISION_ACTIONS = ['increase', 'decrease', 'capped', 'dry_run', 'skipped'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];
/** The actions an applier carries out; the others are informational. */
export const EXECUTABLE_ACTIONS: readonly DecisionAction[] = ['increase', 'decrease', 'capped'];

/**
 * What the engine measured as of a decision's sample: the fields
 * `walrus.api.status` answers per cluster, and what the historian's
 * `walrus.status` view shows as of each cluster's latest decision.
 * Informational, so loosely checked (numbers of any sign, a field added
 * later dropped rather than refused): it must never be the reason an
 * executable decision is dead-lettered.
 */
export const SizingStatusV1 = z.object({
  /** The time profile in force at the sample, null when none. */
  active_profile: z.string().nullable(),
  /** WAL rate over the last whole checkpoint interval (bytes/s), null until one was measured. */
  wal_rate_bytes_per_second: z.number().nullable(),
  /** Its moving average (adaptive's estimate). */
  wal_rate_ema_bytes_per_second: z.number().nullable(),
  /** The size that rate needs at the sample's settings (MB). */
  required_size_mb: z.number().nullable(),
});
export type SizingStatus = z.infer<typeof SizingStatusV1>;

const DecisionFieldsV1 = z.strictObject({
  v: z.literal(1),
  id: z.uuid(),
  cluster: ClusterId,
  decided_at: IsoTime,
  sample_at: IsoTime,
  action: z.enum(DECISION_ACTIONS),
  old_size_mb: SizeMb,
  new_size_mb: SizeMb,
  forced_checkpoints: Count,
  checkpoint_timeout_sec: z.number().int().min(1),
  algorithm: z.string().min(1).max(64),
  reason: z.string(),
  /** Algorithm details for people and dashboards; walrus's own services read the typed fields below, never these. */
  metadata: z.record(z.string(), z.unknown()),
  /*
   * Optional typed fields (added to version 1 like the Sample's `member`:
   * consumers that ignore them keep working). Decisions about a cluster
   * whose samples name their members say which member was the primary, and
   * a decision for one member alone (a standby brought to the cluster's
   * size) names it: the applier carries it out there only.
   */
  primary_member: MemberName.optional(),
  target_member: MemberName.optional(),
  /** What the engine measured as of the sample (absent on decisions of the member rules, which judge no counters). */
  sizing_status: SizingStatusV1.optional(),
  /**
   * walrus.bound_slots: the max_slot_wal_keep_size (MB) to put in force with
   * new_size_mb, on every member (docs/DISK-SAFETY.md). A decision about the
   * keep size alone has new_size_mb = old_size_mb. Absent: leave it as it is.
   */
  max_slot_wal_keep_size_mb: z.number().int().min(0).max(MAX_WAL_SIZE_LIMIT_MB).optional(),
});

/** The metadata keys that carried the typed fields before they existed, and still carry copies of them for subscribers that read those. */
export const DECISION_METADATA_COPIES = ['primary_member', 'target_member', 'sizing_status', 'max_slot_wal_keep_size_mb'] as const;

/**
 * Decisions published before the typed fields existed carried them in
 * `metadata` only: a decision read without them takes them from there (when
 * sound), so that every consumer reads the typed fields, whichever decider
 * published the decision. Nothing else reads those metadata keys.
 */
function liftMetadataCopies(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('metadata' in value)) return value;
  const metadata = z.record(z.string(), z.unknown()).safeParse(value.metadata);
  if (!metadata.success) return value;
  const lifted: Record<string, unknown> = { ...value };
  const copies: Record<(typeof DECISION_METADATA_COPIES)[number], z.ZodType> = {
    primary_member: MemberName,
    target_member: MemberName,
    sizing_status: SizingStatusV1,
    max_slot_wal_keep_size_mb: z.number().int().min(0).max(MAX_WAL_SIZE_LIMIT_MB),
  };
  for (const key of DECISION_METADATA_COPIES) {
    if (key in lifted) continue;
    const copy = copies[key].safeParse(metadata.data[key]);
    if (copy.success) lifted[key] = copy.data;
  }
  return lifted;
}

export const DecisionV1 = z.preprocess(liftMetadataCopies, DecisionFieldsV1);
export type Decision = z.infer<typeof DecisionFieldsV1>;

export const APPLY_STATUSES = ['applied', 'stale', 'rejected', 'failed'] as const;
export type ApplyStatus = (typeof APPLY_STATUSES)[number];

export const MEMBER_APPLY_STATUSES = ['applied', 'stale', 'failed', 'unreachable'] as const;

/** One member's part in applying a decision (optional ApplyResult field `members`). */
export const MemberOutcome = z.strictObject({
  member: MemberName,
  /** What the member was when the applier looked: `primary`, `standby`, or `unknown` (not reachable). */
  role: z.enum(['primary', 'standby', 'unknown']),
  status: z.enum(MEMBER_APPLY_STATUSES),
  max_wal_size_mb: SizeMb.nullable(),
  error: z.string().nullable(),
  /**
   * Under Patroni, how the size reached the member: `patroni` (PATCH /config),
   * or `alter_system` when Patroni did not bring its value to this member
   * within the verify timeout and walrus set the cluster's size there itself.
   */
  via: z.enum(['patroni', 'alter_system']).optional(),
});
export type MemberOutcome = z.infer<typeof MemberOutcome>;

export const ApplyResultV1 = z.strictObject({
  v: z.literal(1),
  decision_id: z.uuid(),
  cluster: ClusterId,
  status: z.enum(APPLY_STATUSES),
  applied_at: IsoTime,
  max_wal_size_mb: SizeMb.nullable(),
  error: z.string().nullable(),
  /** Optional (walrus.bound_slots): max_slot_wal_keep_size read back after the reload (MB, -1 unlimited), when the decision set it. */
  max_slot_wal_keep_size_mb: z.number().int().min(-1).max(MAX_WAL_SIZE_LIMIT_MB).optional(),
  /*
   * Optional, for clusters with several members: the member the decision
   * was applied to as the primary (or the one member a member-targeted
   * decision names), each member's outcome, and the members that did not
   * take the size. `status` is the primary's (the target member's).
   */
  member: MemberName.optional(),
  members: z.array(MemberOutcome).max(100).optional(),
  failed_members: z.array(MemberName).max(100).optional(),
});
export type ApplyResult = z.infer<typeof ApplyResultV1>;

export function isExecutable(action: DecisionAction): boolean {
  return EXECUTABLE_ACTIONS.includes(action);
}

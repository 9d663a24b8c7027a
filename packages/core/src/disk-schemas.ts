import { z } from 'zod';
import { ClusterId } from './cluster-id.js';

/*
 * WAL disk safety (ARCHITECTURE §7): what a sample says about the disk WAL
 * lives on, and the alert message. Kept apart from schemas.ts so that the
 * contract's own messages stay readable there.
 */

const IsoTime = z.iso.datetime({ offset: true });
const Bytes = z.number().int().min(0);
const Count = z.number().int().min(0);

/** The most replication slots a sample carries: the ones holding the most WAL (the collector keeps these). */
export const MAX_SAMPLE_SLOTS = 100;

/** One replication slot as `pg_replication_slots` shows it, with the WAL it keeps. */
export const ReplicationSlotV1 = z.strictObject({
  /** slot_name: PostgreSQL allows [a-z0-9_], at most 63 bytes. */
  name: z.string().min(1).max(63),
  type: z.enum(['physical', 'logical']),
  active: z.boolean(),
  /** reserved, extended, unreserved, lost; null before the slot reserved WAL. Text, so a future value is not refused. */
  wal_status: z.string().max(32).nullable(),
  /** WAL between restart_lsn and the current (on a standby: replayed) position; null when the slot holds none (never reserved, or lost). */
  retained_bytes: Bytes.nullable(),
  /** safe_wal_size: WAL that can still be written before the slot is lost; null without max_slot_wal_keep_size. */
  safe_wal_size_bytes: z.number().int().nullable(),
  /** PostgreSQL 17+: why the slot was invalidated (`wal_removed`, `rows_removed`, `wal_level_insufficient`, 18: `idle_timeout`), null while valid. Absent before 17. */
  invalidation_reason: z.string().max(64).nullable().optional(),
  /** PostgreSQL 17+: since when nobody has consumed the slot, null while it is active. Absent before 17. */
  inactive_since: IsoTime.nullable().optional(),
});
export type ReplicationSlot = z.infer<typeof ReplicationSlotV1>;

/** The archiver, from `archive_mode`, `pg_stat_archiver` and the `.ready` files of `pg_wal/archive_status`. */
export const ArchiverV1 = z.strictObject({
  mode: z.enum(['off', 'on', 'always']),
  /** archive_command or archive_library is set; with neither, PostgreSQL keeps every segment waiting for one. */
  configured: z.boolean(),
  archived_count: Count,
  failed_count: Count,
  last_archived_wal: z.string().max(64).nullable(),
  last_archived_at: IsoTime.nullable(),
  last_failed_wal: z.string().max(64).nullable(),
  last_failed_at: IsoTime.nullable(),
  /** Segments waiting to be archived (`.ready` files); null when archiving is off (not listed). */
  pending_files: Count.nullable(),
});
export type Archiver = z.infer<typeof ArchiverV1>;

/**
 * Optional Sample (v1) fields: a collector that does not read them (older,
 * or a role without pg_monitor) leaves them out, and every consumer copes.
 */
export const WAL_DISK_SAMPLE_FIELDS = {
  /** What pg_wal holds now: the sum of pg_ls_waldir() sizes. */
  pg_wal_bytes: Bytes.optional(),
  /** wal_keep_size in MB. */
  wal_keep_size_mb: Count.optional(),
  /** The slots holding the most WAL first, at most MAX_SAMPLE_SLOTS of them. */
  replication_slots: z.array(ReplicationSlotV1).max(MAX_SAMPLE_SLOTS).optional(),
  /** How many slots the server has (replication_slots may list fewer). */
  replication_slot_count: Count.optional(),
  archiver: ArchiverV1.optional(),
  /** max_slot_wal_keep_size in MB, -1 = unlimited (the default): what walrus.bound_slots manages. */
  max_slot_wal_keep_size_mb: z.number().int().min(-1).optional(),
  /** PostgreSQL 18: idle_replication_slot_timeout in seconds (0 = off). Absent before 18. */
  idle_replication_slot_timeout_s: Count.optional(),
} as const;

/** `no_samples` (ARCHITECTURE §8): a registered or known cluster sampled by nobody (fleet/no-samples.ts). */
/** `wal_disk_forecast` and `slot_lost` (ARCHITECTURE §8): engine/disk/forecast.ts and alerts.ts. */
export const ALERT_KINDS = ['slot_retention', 'archiver_failing', 'wal_disk_budget', 'no_samples', 'wal_disk_forecast', 'slot_lost'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
export const ALERT_STATES = ['firing', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/**
 * An alert event on `walrus.alert.<cluster>` (ARCHITECTURE §7): one message
 * when a condition starts (`firing`) and one when it ends (`resolved`),
 * never one per sample. `id` is derived from cluster, kind, slot, state and
 * `at` (the sample's collected_at), so a sample evaluated twice yields the
 * same alert, published and stored once.
 */
export const AlertV1 = z
  .strictObject({
    v: z.literal(1),
    id: z.uuid(),
    cluster: ClusterId,
    kind: z.enum(ALERT_KINDS),
    state: z.enum(ALERT_STATES),
    at: IsoTime,
    /** One human-readable line: what holds the disk, how much, against what. */
    detail: z.string().max(2000),
    /** slot_retention: the slot and the WAL it holds. */
    slot: z.string().min(1).max(63).optional(),
    retained_bytes: Bytes.optional(),
    wal_status: z.string().max(32).nullable().optional(),
    /** wal_disk_budget: what pg_wal holds. */
    used_bytes: Bytes.optional(),
    /** walrus.wal_disk_budget in force, when one is. */
    budget_bytes: Bytes.optional(),
    /** archiver_failing: pg_stat_archiver's counters. */
    failed_count: Count.optional(),
    last_failed_wal: z.string().max(64).nullable().optional(),
    last_failed_at: IsoTime.nullable().optional(),
    pending_files: Count.nullable().optional(),
    /** no_samples: the cluster's last sample (null: never sampled since it was registered) and the interval it was sampled at. */
    last_sample_at: IsoTime.nullable().optional(),
    interval_sec: z.number().int().positive().optional(),
    /** wal_disk_forecast: seconds until pg_wal reaches the budget at the current trend (null on a resolution when nothing grows), and what grows: `replication_slot` (with `slot`), `archiver`, `pg_wal`. */
    eta_seconds: z.number().int().min(0).nullable().optional(),
    cause: z.string().min(1).max(32).nullable().optional(),
    /** slot_lost: why PostgreSQL invalidated the slot (17+: invalidation_reason; 15, 16: `wal_removed`, the only cause they report as wal_status lost). */
    reason: z.string().min(1).max(64).optional(),
    /** slot_retention under walrus.bound_slots: max_slot_wal_keep_size (MB) that invalidates the slot, and when its grace ends. */
    slot_keep_mb: z.number().int().min(0).optional(),
    grace_ends_at: IsoTime.optional(),
    /** archiver_failing: the backlog's bytes (pending_files x wal_segment_size). */
    pending_bytes: Bytes.nullable().optional(),
  })
  .refine((a) => a.kind !== 'slot_retention' || (a.slot !== undefined && a.retained_bytes !== undefined), {
    message: 'a slot_retention alert names its slot and retained_bytes',
    path: ['slot'],
  })
  .refine((a) => a.kind !== 'slot_lost' || (a.slot !== undefined && a.reason !== undefined), {
    message: 'a slot_lost alert names its slot and reason',
    path: ['slot'],
  })
  .refine((a) => a.kind !== 'wal_disk_forecast' || (a.eta_seconds !== undefined && a.cause !== undefined), {
    message: 'a wal_disk_forecast alert has eta_seconds and cause',
    path: ['eta_seconds'],
  });
export type Alert = z.infer<typeof AlertV1>;

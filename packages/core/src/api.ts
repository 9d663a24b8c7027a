import type { Effect } from './effect-schemas.js';
import { z } from 'zod';
import { ClusterId } from './cluster-id.js';
import type { WalVolumeStatus } from './engine/disk/volume-status.js';
import type { MemberOutcome, SizingStatus } from './schemas.js';

/**
 * The control surface over NATS request/reply: JSON in, JSON out, one subject
 * per endpoint. Every control process answers in the queue group
 * CONTROL_QUEUE, so running several (say `walrus all` on two hosts) answers
 * each request once. `walrus.api.info` lists the endpoints.
 */
export const API_PREFIX = 'walrus.api';
export const CONTROL_QUEUE = 'walrus-control';

export const ENDPOINTS = [
  'info',
  'status',
  'history',
  'recommendation',
  'analyze',
  'reset',
  'cleanup_history',
  'clusters_add',
  'clusters_remove',
  'clusters_list',
  'clusters_show',
] as const;
export type Endpoint = (typeof ENDPOINTS)[number];
export const apiSubject = (endpoint: Endpoint): string => `${API_PREFIX}.${endpoint}`;

export const StatusRequest = z.strictObject({ cluster: ClusterId.optional() });
export const HistoryRequest = z.strictObject({
  cluster: ClusterId.optional(),
  limit: z.number().int().min(1).max(10_000).default(20),
});
export const ClusterRequest = z.strictObject({ cluster: ClusterId });
export const AnalyzeRequest = z.strictObject({ cluster: ClusterId, apply: z.boolean().default(false) });
export const CleanupRequest = z.strictObject({ retention_days: z.number().int().min(0).max(3650).optional() });
/** `walrus clusters add`: a registry entry (fleet/registry.ts); `replace` lets it overwrite one already registered. */
export const ClustersAddRequest = z.strictObject({
  cluster: ClusterId,
  url: z.string().min(1).max(8192),
  password_file: z.string().min(1).max(4096).optional(),
  passfile: z.string().min(1).max(4096).optional(),
  params: z.record(z.string(), z.string()).optional(),
  labels: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().max(256)).optional(),
  replace: z.boolean().default(false),
});
export const ClustersListRequest = z.strictObject({});

/**
 * A registered cluster as the control surface shows it: the URL with any
 * password replaced by `***`, never the password itself.
 */
export interface RegisteredCluster {
  cluster: string;
  url: string;
  /** Where the password comes from: the URL (shown as ***), a password file, a passfile, or none. */
  password: 'url' | 'password_file' | 'passfile' | 'none';
  password_file: string | null;
  passfile: string | null;
  params: Record<string, string>;
  labels: Record<string, string>;
  /** When the entry was stored (the server's time). */
  registered_at: string;
  revision: number;
}

export interface ClustersListResult {
  clusters: RegisteredCluster[];
}

export interface ClustersRemoveResult {
  cluster: string;
  removed: boolean;
}

/**
 * Error kinds; the CLI maps them to exit codes. `not_configured`: the control
 * service lacks what the request needs (HISTORY_DATABASE_URL);
 * `unavailable`: a walrus service the request needs does not answer (no
 * decider for analyze with apply or reset, no historian schema yet).
 */
export type ApiErrorCode = 'bad_request' | 'not_found' | 'not_configured' | 'unavailable' | 'failed';

export interface ApiError {
  code: ApiErrorCode;
  message: string;
}

export type ApiReply<T> = { ok: true; result: T } | { ok: false; error: ApiError };

export class ApiFailure extends Error {
  override name = 'ApiFailure';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Parses a request body with its schema; anything else is a bad_request naming each problem. */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const text = r.error.issues.map((i) => `${i.path.map(String).join('.') || 'request'}: ${i.message}`).join('; ');
  throw new ApiFailure('bad_request', text);
}

export interface InfoResult {
  service: 'walrus-control';
  endpoints: Array<{ name: Endpoint; subject: string; request: string }>;
  history: boolean;
  live_clusters: string[];
}

export interface InvalidOverride {
  parameter: string;
  value: string;
  allowed: string;
  message: string;
}

/**
 * Per-cluster status: pg_walrus's walrus.status() fields, plus what a fleet
 * needs, plus what the engine measured (SizingStatus: the WAL rate, the size
 * it needs and the time profile in force, as of the last evaluated sample).
 */
export interface ClusterStatus extends SizingStatus, Partial<WalVolumeStatus> {
  cluster: string;
  enabled: boolean;
  current_max_wal_size_mb: number | null;
  configured_maximum_mb: number;
  min_size_mb: number;
  threshold: number;
  checkpoint_timeout_sec: number | null;
  shrink_enabled: boolean;
  shrink_factor: number;
  shrink_intervals: number;
  dry_run: boolean;
  algorithm: string;
  in_recovery: boolean | null;
  last_sample_at: string | null;
  sample_age_sec: number | null;
  last_evaluated_at: string | null;
  last_adjustment_at: string | null;
  total_adjustments: number;
  quiet_intervals: number;
  at_ceiling: boolean;
  cooldown_sec: number;
  cooldown_active: boolean;
  cooldown_remaining_sec: number;
  changes_this_hour: number;
  max_changes_per_hour: number;
  hourly_limit_reached: boolean;
  /** null: nothing to judge by (no sample yet and no live connection). */
  reachable: boolean | null;
  /** How `reachable` was judged: a live connection from this process, or the age of the last sample. */
  reachable_by: 'live' | 'sample_age' | null;
  reachable_error: string | null;
  invalid_overrides: InvalidOverride[];
  has_state: boolean;
  /** The member taken for the primary (clusters whose samples name their member), or null. */
  primary_member: string | null;
  /** Every member walrus has seen in the last day, the primary first. */
  members: MemberStatus[];
  /** Changes of primary (or of its timeline) the decider has seen. */
  failovers: number;
  /** The collector whose sample is the last one (samples name their collector), or null. */
  collector?: string | null;
  /** Whether the cluster is in the registry (walrus_clusters). */
  registered?: boolean;
  /** The alerts firing for the cluster, by key (`no_samples`, `wal_disk_budget`, `archiver_failing`, `slot_retention:<slot>`, `slot_lost:<slot>`, `wal_disk_forecast`), as its state records them. */
  alerts_firing?: string[];
  /** A growth held back because the last one for its cause did not reduce forced checkpoints (docs/ALGORITHMS.md, "Every change checked"), or null. */
  growth_held?: { cause: string; flag: string; decision_id: string; until: string } | null;
}

/** One member of a cluster, as its last sample showed it. */
export interface MemberStatus {
  member: string;
  /** `stale_primary`: last seen out of recovery on an older timeline than the primary (an old primary not yet demoted, or gone). */
  role: 'primary' | 'standby' | 'stale_primary';
  max_wal_size_mb: number;
  timeline: number | null;
  last_sample_at: string;
  sample_age_sec: number;
  /** Whether the member runs the cluster's size (the size walrus put in force on the primary). */
  at_cluster_size: boolean | null;
}

export interface FleetSummary {
  clusters: number;
  reachable: number;
  unreachable: number;
  unknown: number;
  enabled: number;
  at_ceiling: number;
  cooldown_active: number;
  hourly_limit_reached: number;
  with_invalid_overrides: number;
  total_adjustments: number;
  /** Clusters whose no_samples alert fires: no sample for three of their intervals (at least 60 s). */
  no_samples?: number;
}

export interface StatusResult {
  generated_at: string;
  fleet: FleetSummary;
  clusters: ClusterStatus[];
}

export interface HistoryRow {
  timestamp: string;
  cluster: string;
  decision_id: string;
  action: string;
  old_size_mb: number;
  new_size_mb: number;
  forced_checkpoints: number;
  checkpoint_timeout_sec: number;
  reason: string | null;
  metadata: Record<string, unknown> | null;
  apply_status: string | null;
  applied_at: string | null;
  applied_size_mb: number | null;
  apply_error: string | null;
  /** Clusters with several members: the primary when the decision was made, the one member it was for (null: the whole cluster), each member's part in applying it. */
  primary_member?: string | null;
  target_member?: string | null;
  apply_members?: MemberOutcome[] | null;
  /** What the change did (walrus.effect.<cluster>, migration 008); null until judged, for changes that were never checked, and for other actions. */
  effect?: Effect | null;
}

export interface HistoryResult {
  cluster: string | null;
  limit: number;
  rows: HistoryRow[];
}

export type RecommendedAction = 'increase' | 'decrease' | 'capped' | 'none' | 'error';

export interface Recommendation {
  cluster: string;
  current_size_mb: number | null;
  recommended_size_mb: number | null;
  action: RecommendedAction;
  reason: string;
  /** 0 .. 100, pg_walrus's data-quality score. */
  confidence: number;
  forced_checkpoints: number | null;
  /** The rate limit that would hold an automatic change back now, if any. */
  blocked_by: 'cooldown' | 'hourly_limit' | 'no_effect' | null;
  blocked_until: string | null;
  dry_run: boolean;
  /** Where the statistics came from: a live read by this process, or the last sample on the stream. */
  sample_source: 'live' | 'stream' | null;
  sample_at: string | null;
}

export interface AnalyzeResult {
  analyzed: boolean;
  recommendation: Recommendation;
  applied: boolean;
  /** The decision published for the applier (apply only). */
  decision_id: string | null;
  /** The applier's outcome, when it arrived within the wait. */
  apply_status: string | null;
  apply_error: string | null;
  max_wal_size_mb: number | null;
  reason: string | null;
}

export interface ResetResult {
  cluster: string;
  had_state: boolean;
}

export interface CleanupResult {
  deleted: number;
  retention_days: number | null;
}

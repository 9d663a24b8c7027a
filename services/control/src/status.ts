import {
  HOUR_WINDOW_MS,
  NO_SAMPLES_KEY,
  resolvePolicy,
  sizingStatus,
  walVolumeStatus,
  type ApplyResult,
  type ClusterState,
  type Policy,
  type Sample,
  type ClusterStatus,
  type FleetSummary,
  type MemberStatus,
} from '@walrus/core';

/** What is known of one cluster when a status is asked for. */
export interface ClusterFacts {
  cluster: string;
  state: ClusterState | null;
  /** The freshest sample: a live read when this process has the cluster's URL, else the last one on the stream. */
  sample: Sample | null;
  /** Set when a live read was tried. */
  live: { ok: boolean; error: string | null } | null;
  /** The applier's last outcome: an applied size newer than the sample is the current size. */
  applied?: ApplyResult | null;
  /** Whether the cluster is in the registry. */
  registered?: boolean;
  /** The collector that took the cluster's last sample on the stream. */
  collector?: string | null;
}

/**
 * A sample older than two checkpoint_timeouts plus a minute means the
 * collector has not reached the cluster for at least one whole interval.
 */
export function sampleIsFresh(sample: Sample, nowMs: number): boolean {
  const ageMs = nowMs - Date.parse(sample.collected_at);
  return ageMs <= (2 * sample.checkpoint_timeout_s + 60) * 1000;
}

/**
 * pg_walrus's walrus.status() for one cluster, from the decider's stored
 * state, the freshest sample and the effective policy. Rate-limit fields are
 * judged at `nowMs` (wall clock): they answer "could walrus change it now?".
 */
export function clusterStatus(facts: ClusterFacts, defaults: Policy, nowMs: number): ClusterStatus {
  const { state } = facts;
  // The last sample on the stream may be a standby member's: the cluster is what its primary shows.
  const sample = primarySample(facts.sample, state);
  const { policy, warnings } = resolvePolicy(defaults, sample?.settings ?? {});
  const applied = facts.applied;
  const appliedLater =
    applied?.status === 'applied' && applied.max_wal_size_mb !== null && (!sample || Date.parse(applied.applied_at) > Date.parse(sample.collected_at));
  const current = appliedLater ? applied.max_wal_size_mb : (sample?.max_wal_size_mb ?? null);

  const cooldownEndMs =
    state?.lastAdjustmentAt && policy.cooldownSec > 0 ? Date.parse(state.lastAdjustmentAt) + policy.cooldownSec * 1000 : null;
  const cooldownActive = cooldownEndMs !== null && nowMs < cooldownEndMs;
  const windowOpen = state?.hourWindowStart != null && nowMs < Date.parse(state.hourWindowStart) + HOUR_WINDOW_MS;
  const changesThisHour = windowOpen ? (state?.changesThisHour ?? 0) : 0;

  let reachable: boolean | null = null;
  let reachableBy: ClusterStatus['reachable_by'] = null;
  if (facts.live) {
    reachable = facts.live.ok;
    reachableBy = 'live';
  } else if (sample) {
    reachable = sampleIsFresh(sample, nowMs);
    reachableBy = 'sample_age';
  }

  return {
    cluster: facts.cluster,
    enabled: policy.enable,
    current_max_wal_size_mb: current,
    configured_maximum_mb: policy.maxMb,
    min_size_mb: policy.minSizeMb,
    threshold: policy.threshold,
    checkpoint_timeout_sec: sample?.checkpoint_timeout_s ?? null,
    shrink_enabled: policy.shrinkEnable,
    shrink_factor: policy.shrinkFactor,
    shrink_intervals: policy.shrinkIntervals,
    dry_run: policy.dryRun,
    algorithm: policy.algorithm,
    in_recovery: sample?.in_recovery ?? null,
    last_sample_at: sample?.collected_at ?? null,
    sample_age_sec: sample ? Math.max(0, Math.round((nowMs - Date.parse(sample.collected_at)) / 1000)) : null,
    last_evaluated_at: state?.lastSampleAt ?? null,
    last_adjustment_at: state?.lastAdjustmentAt ?? null,
    total_adjustments: state?.totalAdjustments ?? 0,
    quiet_intervals: state?.quietIntervals ?? 0,
    at_ceiling: current !== null && current >= policy.maxMb,
    cooldown_sec: policy.cooldownSec,
    cooldown_active: cooldownActive,
    cooldown_remaining_sec: cooldownActive && cooldownEndMs !== null ? Math.ceil((cooldownEndMs - nowMs) / 1000) : 0,
    changes_this_hour: changesThisHour,
    max_changes_per_hour: policy.maxChangesPerHour,
    hourly_limit_reached: policy.maxChangesPerHour === 0 || (windowOpen && changesThisHour >= policy.maxChangesPerHour),
    reachable,
    reachable_by: reachableBy,
    reachable_error: facts.live && !facts.live.ok ? facts.live.error : null,
    invalid_overrides: warnings.map((w) => ({ parameter: w.parameter, value: w.value, allowed: w.allowed, message: w.message })),
    has_state: state !== null,
    // The engine's own reading of the state; the required size at the freshest sample's settings.
    ...sizingStatus(state, sample),
    primary_member: state?.primary?.member ?? null,
    members: memberStatuses(state, nowMs),
    failovers: state?.failovers ?? 0,
    collector: facts.collector ?? facts.sample?.collector ?? null,
    registered: facts.registered ?? false,
    alerts_firing: firingAlerts(state),
    growth_held: growthHeld(state, nowMs),
    // The WAL volume (docs/DISK-SAFETY.md): budget, slots' keep size, archiver backlog, time to full.
    ...walVolumeStatus(state, sample, policy),
  };
}

/** The effect check's hold in force, as the state records it (it ends at `until`, or earlier once a span passes without requested checkpoints). */
function growthHeld(state: ClusterState | null, nowMs: number): ClusterStatus['growth_held'] {
  const hold = state?.effect?.hold ?? null;
  if (hold === null || Date.parse(hold.until) <= nowMs) return null;
  return { cause: hold.cause, flag: hold.flag, decision_id: hold.decisionId, until: hold.until };
}

/** The keys of the alerts the state records as firing. */
function firingAlerts(state: ClusterState | null): string[] {
  return Object.keys(state?.alerts.firing ?? {}).sort();
}

/**
 * The sample to report the cluster by: the one given, unless it is another
 * member's than the primary's, whose last facts (size, time, role) then
 * stand in for it.
 */
function primarySample(sample: Sample | null, state: ClusterState | null): Sample | null {
  const primary = state?.primary;
  if (!sample || sample.member === undefined || !primary || sample.member === primary.member) return sample;
  const f = state.members?.[primary.member];
  if (!f) return sample;
  return { ...sample, member: primary.member, in_recovery: false, max_wal_size_mb: f.maxWalSizeMb, collected_at: f.lastSampleAt, ...(f.timeline !== null ? { timeline: f.timeline } : {}) };
}

function memberStatuses(state: ClusterState | null, nowMs: number): MemberStatus[] {
  const primary = state?.primary?.member;
  const size = state?.learned?.sizeMb ?? null;
  return Object.entries(state?.members ?? {})
    .map(([member, f]): MemberStatus => ({
      member,
      role: f.role,
      max_wal_size_mb: f.maxWalSizeMb,
      timeline: f.timeline,
      last_sample_at: f.lastSampleAt,
      sample_age_sec: Math.max(0, Math.round((nowMs - Date.parse(f.lastSampleAt)) / 1000)),
      at_cluster_size: size === null ? null : f.maxWalSizeMb === size,
    }))
    .sort((a, b) => Number(b.member === primary) - Number(a.member === primary) || a.member.localeCompare(b.member));
}

export function fleetSummary(clusters: readonly ClusterStatus[]): FleetSummary {
  const count = (f: (c: ClusterStatus) => boolean) => clusters.filter(f).length;
  return {
    clusters: clusters.length,
    reachable: count((c) => c.reachable === true),
    unreachable: count((c) => c.reachable === false),
    unknown: count((c) => c.reachable === null),
    enabled: count((c) => c.enabled),
    at_ceiling: count((c) => c.at_ceiling),
    cooldown_active: count((c) => c.cooldown_active),
    hourly_limit_reached: count((c) => c.hourly_limit_reached),
    with_invalid_overrides: count((c) => c.invalid_overrides.length > 0),
    total_adjustments: clusters.reduce((n, c) => n + c.total_adjustments, 0),
    no_samples: count((c) => (c.alerts_firing ?? []).includes(NO_SAMPLES_KEY)),
  };
}

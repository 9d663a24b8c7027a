import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DeciderMetrics = ReturnType<typeof deciderMetrics>;

/** The latest per-cluster values, turned into gauge series when scraped; null = no series yet. */
export interface ClusterReadings {
  maxWalSizeBytes: number | null;
  maxAllowedBytes: number | null;
  sampleTimeSec: number | null;
  invalidOverrides: number | null;
  walRateBytesPerSec: number | null;
  requiredSizeBytes: number | null;
  /** The time profile in force ('' when none). */
  profile: string | null;
  /** WAL disk (docs/DISK-SAFETY.md): what pg_wal holds, the budget, each slot's WAL, the archiver (1 failing, 0 not). */
  walDiskUsedBytes: number | null;
  walDiskBudgetBytes: number | null;
  slotRetainedBytes: Array<[slot: string, bytes: number]> | null;
  archiverFailing: number | null;
  /** Forced checkpoints per hour before and after the last change whose effect was judged (engine/effect.ts). */
  effectForcedPerHour: { before: number; after: number } | null;
  /** Segments waiting to be archived and their bytes (null with archiving off). */
  archiverBacklogSegments: number | null;
  archiverBacklogBytes: number | null;
  /** max_slot_wal_keep_size in force, bytes (null: unlimited, or not reported). */
  slotKeepBytes: number | null;
  /** The time-to-full forecast (null: nothing grows, or no budget). */
  forecastSeconds: number | null;
  /** Slots PostgreSQL invalidated, in the latest sample that listed slots. */
  lostSlots: string[] | null;
}

/** The cluster's readings, created empty on first use. */
export function readingsOf(readings: Map<string, ClusterReadings>, cluster: string): ClusterReadings {
  let r = readings.get(cluster);
  if (!r) {
    r = {
      maxWalSizeBytes: null,
      maxAllowedBytes: null,
      sampleTimeSec: null,
      invalidOverrides: null,
      walRateBytesPerSec: null,
      requiredSizeBytes: null,
      profile: null,
      walDiskUsedBytes: null,
      walDiskBudgetBytes: null,
      slotRetainedBytes: null,
      archiverFailing: null,
      effectForcedPerHour: null,
      archiverBacklogSegments: null,
      archiverBacklogBytes: null,
      slotKeepBytes: null,
      forecastSeconds: null,
      lostSlots: null,
    };
    readings.set(cluster, r);
  }
  return r;
}

/**
 * A gauge with one series per cluster, filled from the readings when scraped.
 * Setting seven labelled gauges for every sample was ~5 % of a decider's CPU
 * at thousands of samples per second; a scrape every 15 s costs far less.
 */
function clusterGauge(
  registers: Registry[],
  readings: Map<string, ClusterReadings>,
  spec: { name: string; help: string; value: (r: ClusterReadings) => number | null },
): Gauge<'cluster'> {
  return new Gauge({
    ...spec,
    labelNames: ['cluster'],
    registers,
    collect() {
      this.reset();
      for (const [cluster, r] of readings) {
        const v = spec.value(r);
        if (v !== null) this.set({ cluster }, v);
      }
    },
  });
}

/** A gauge per cluster and replication slot, from the slots' values in each cluster's latest readings. */
function slotGauge(
  registers: Registry[],
  readings: Map<string, ClusterReadings>,
  spec: { name: string; help: string; values: (r: ClusterReadings) => Iterable<[string, number]> },
): Gauge<'cluster' | 'slot'> {
  return new Gauge({
    name: spec.name,
    help: spec.help,
    labelNames: ['cluster', 'slot'],
    registers,
    collect() {
      this.reset();
      for (const [cluster, r] of readings) for (const [slot, value] of spec.values(r)) this.set({ cluster, slot }, value);
    },
  });
}

/** Per-cluster series: names carry units, help says what the number means. */
export function deciderMetrics(registry: Registry) {
  const registers = [registry];
  const readings = new Map<string, ClusterReadings>();
  const sampleTime = clusterGauge(registers, readings, {
    name: 'walrus_last_sample_timestamp_seconds',
    help: 'collected_at of the latest sample evaluated for the cluster (Unix time); now minus this is the sample age.',
    value: (r) => r.sampleTimeSec,
  });
  return {
    /** Per cluster: update in place for every sample; read by the gauges below when scraped. */
    readings,
    decisions: new Counter({
      name: 'walrus_decisions_total',
      help: 'Decisions published, by cluster and action (increase, decrease, capped, dry_run, skipped); those of analyze with apply included (walrus_manual_decisions_total, on the control service).',
      labelNames: ['cluster', 'action'],
      registers,
    }),
    evaluations: new Counter({
      name: 'walrus_samples_evaluated_total',
      help: 'Samples evaluated by the decider, by what came of them (decision, no_change, baseline, ignored_old_sample, ...).',
      labelNames: ['outcome'],
      registers,
    }),
    forcedCheckpoints: new Counter({
      name: 'walrus_forced_checkpoints_total',
      help: 'Requested (forced) checkpoints counted between consecutive samples, per cluster.',
      labelNames: ['cluster'],
      registers,
    }),
    maxWalSize: clusterGauge(registers, readings, {
      name: 'walrus_max_wal_size_bytes',
      help: 'max_wal_size of the cluster in its latest sample.',
      value: (r) => r.maxWalSizeBytes,
    }),
    maxAllowed: clusterGauge(registers, readings, {
      name: 'walrus_max_allowed_bytes',
      help: 'The ceiling walrus.max in force for the cluster (service default or the cluster’s own override).',
      value: (r) => r.maxAllowedBytes,
    }),
    sampleTime,
    sampleAge: new Gauge({
      name: 'walrus_sample_age_seconds',
      help: 'Seconds since collected_at of the latest sample evaluated for the cluster, at scrape time; grows when samples stop coming.',
      labelNames: ['cluster'],
      registers,
      // Computed when scraped, so a silent cluster shows its age growing.
      async collect() {
        const nowSec = Date.now() / 1000;
        for (const v of (await sampleTime.get()).values) this.set({ cluster: String(v.labels.cluster) }, Math.max(0, nowSec - v.value));
      },
    }),
    invalidOverrides: clusterGauge(registers, readings, {
      name: 'walrus_invalid_overrides',
      help: 'walrus.* settings on the cluster that were invalid or unknown and were ignored (see the warning log).',
      value: (r) => r.invalidOverrides,
    }),
    evaluationSeconds: new Histogram({
      name: 'walrus_decider_sample_duration_seconds',
      help: 'Time to handle one sample: state read, evaluation, decision publish and state write.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2],
      registers,
    }),
    caughtUp: new Counter({
      name: 'walrus_decider_caught_up_samples_total',
      help: 'Samples evaluated ahead of their own delivery, read from the stream because a later sample of the same cluster arrived first (several deciders, or a redelivery after a crash).',
      registers,
    }),
    walRate: clusterGauge(registers, readings, {
      name: 'walrus_wal_rate_bytes_per_second',
      help: 'WAL written per second over the last whole checkpoint interval (checkpoint_timeout), from the samples’ wal_bytes.',
      value: (r) => r.walRateBytesPerSec,
    }),
    requiredSize: clusterGauge(registers, readings, {
      name: 'walrus_required_size_bytes',
      help:
        'max_wal_size that keeps checkpoints timed at that WAL rate: the fewest whole WAL segments whose CheckPointSegments (segments / (1 + checkpoint_completion_target), rounded down) is at least one checkpoint_timeout of WAL in whole segments plus 2, as PostgreSQL counts them (XLogCheckpointNeeded).',
      value: (r) => r.requiredSizeBytes,
    }),
    activeProfile: new Gauge({
      name: 'walrus_active_profile',
      help: 'The walrus.profiles time profile in force for the cluster at its latest sample (1; profile="" when none).',
      labelNames: ['cluster', 'profile'],
      registers,
      collect() {
        this.reset();
        for (const [cluster, r] of readings) if (r.profile !== null) this.set({ cluster, profile: r.profile }, 1);
      },
    }),
    clockSkew: new Counter({
      name: 'walrus_sample_clock_skew_total',
      help:
        'Samples whose time disagreed with the service clocks, by cluster and reason: ahead = dated further ahead of the decider’s clock than WALRUS_MAX_CLOCK_SKEW_SEC (dead-lettered, never evaluated); ' +
        'back = dated before the cluster’s last sample though stored well after it (the collector’s clock went back: a new baseline instead of ignoring its samples).',
      labelNames: ['cluster', 'reason'],
      registers,
    }),
    walDiskUsed: clusterGauge(registers, readings, {
      name: 'walrus_wal_disk_used_bytes',
      help: 'What the cluster’s pg_wal directory holds now (the sum of pg_ls_waldir() sizes) in its latest sample.',
      value: (r) => r.walDiskUsedBytes,
    }),
    walDiskBudget: clusterGauge(registers, readings, {
      name: 'walrus_wal_disk_budget_bytes',
      help: 'walrus.wal_disk_budget in force for the cluster: what its WAL may hold on disk (no series when no budget is set).',
      value: (r) => r.walDiskBudgetBytes,
    }),
    slotRetained: slotGauge(registers, readings, {
      name: 'walrus_slot_retained_bytes',
      help: 'WAL a replication slot keeps on disk: the current (on a standby, replayed) WAL position minus the slot’s restart_lsn, in the latest sample; 0 for a slot holding none (lost, or never reserved).',
      values: (r) => r.slotRetainedBytes ?? [],
    }),
    archiverFailing: clusterGauge(registers, readings, {
      name: 'walrus_archiver_failing',
      help: 'With archiving on: 1 when the cluster’s latest WAL archive attempt failed (or no archive_command/archive_library is set while segments wait), so WAL piles up in pg_wal; 0 when archiving works.',
      value: (r) => r.archiverFailing,
    }),
    effects: new Counter({
      name: 'walrus_change_effects_total',
      help:
        'Changes of max_wal_size judged for their effect (walrus.effect.<cluster>), by verdict (helped, not_helped, nothing_to_relieve, shrink_held, shrink_forced) ' +
        'and flag (why a growth did not help: cap_hit, forced_elsewhere, load_grew, unexplained; empty otherwise).',
      labelNames: ['cluster', 'verdict', 'flag'],
      registers,
    }),
    effectForced: new Gauge({
      name: 'walrus_change_effect_forced_checkpoints_per_hour',
      help: 'Forced (requested) checkpoints per hour over walrus.effect_intervals checkpoint_timeouts before (span="before") and after (span="after") the cluster’s last change whose effect was judged.',
      labelNames: ['cluster', 'span'],
      registers,
      collect() {
        this.reset();
        for (const [cluster, r] of readings) {
          if (r.effectForcedPerHour === null) continue;
          this.set({ cluster, span: 'before' }, r.effectForcedPerHour.before);
          this.set({ cluster, span: 'after' }, r.effectForcedPerHour.after);
        }
      },
    }),
    archiverBacklogSegments: clusterGauge(registers, readings, {
      name: 'walrus_archiver_backlog_segments',
      help: 'With archiving on: WAL segments waiting to be archived (.ready files in pg_wal/archive_status) in the cluster’s latest sample; no series while archiving is off.',
      value: (r) => r.archiverBacklogSegments,
    }),
    archiverBacklogBytes: clusterGauge(registers, readings, {
      name: 'walrus_archiver_backlog_bytes',
      help: 'With archiving on: what the segments waiting to be archived hold (their count times wal_segment_size); no series while archiving is off.',
      value: (r) => r.archiverBacklogBytes,
    }),
    slotKeep: clusterGauge(registers, readings, {
      name: 'walrus_slot_wal_keep_size_bytes',
      help: 'max_slot_wal_keep_size in force on the cluster (walrus.bound_slots manages it): the most WAL a replication slot may hold before PostgreSQL invalidates it; no series while it is unlimited (-1).',
      value: (r) => r.slotKeepBytes,
    }),
    slotLost: slotGauge(registers, readings, {
      name: 'walrus_slot_lost',
      help: 'A replication slot PostgreSQL invalidated (wal_status lost; 17+: any invalidation_reason), 1 while it exists: its consumer must be rebuilt (walrus’s slot_lost alert names the reason); the series goes when the slot is dropped.',
      values: (r) => (r.lostSlots ?? []).map((slot): [string, number] => [slot, 1]),
    }),
    forecast: clusterGauge(registers, readings, {
      name: 'walrus_wal_disk_forecast_seconds',
      help: 'Seconds until the cluster’s pg_wal reaches walrus.wal_disk_budget at the current trend of what holds WAL (slots, archiver backlog, pg_wal); no series when nothing grows or no budget is set.',
      value: (r) => r.forecastSeconds,
    }),
    alerts: new Counter({
      name: 'walrus_alerts_total',
      help: 'Alert events published on walrus.alert.<cluster>, by kind (slot_retention, archiver_failing, wal_disk_budget, no_samples, wal_disk_forecast, slot_lost) and state (firing, resolved).',
      labelNames: ['cluster', 'kind', 'state'],
      registers,
    }),
    stateConflicts: new Counter({
      name: 'walrus_state_conflicts_total',
      help: 'State writes refused because another writer (a decider, or a request it served) had moved the cluster on; the evaluation was done again.',
      registers,
    }),
    requests: new Counter({
      name: 'walrus_decider_requests_total',
      help: 'Requests the decider answered for the control service (walrus.decider.analyze, walrus.decider.reset), by request and result (ok or the error code).',
      labelNames: ['request', 'result'],
      registers,
    }),
  };
}

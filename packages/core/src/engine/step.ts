import { resolvePolicy, type ConfigWarning } from '../config/overlay.js';
import type { Policy } from '../config/policy.js';
import type { Alert } from '../disk-schemas.js';
import type { Effect } from '../effect-schemas.js';
import type { Decision, Sample } from '../schemas.js';
import { clockWentBack, sampleAhead } from './clock.js';
import { evaluateAlerts } from './disk/alerts.js';
import { forecastDisk, type Forecast } from './disk/forecast.js';
import { archiverHealth } from './disk/archiver.js';
import { evaluate } from './evaluate.js';
import type { EvaluateResult, Insight, StepOutcome, WantedChange } from './evaluation.js';
import { countsForCluster } from './members.js';
import type { ClusterState } from './state/current.js';
import { toIso } from './time.js';

/*
 * What a decider does with one sample, as a pure function: the policy in
 * force (the service defaults under the cluster's walrus.* settings), the
 * clock guards (clock.ts), the rules (evaluate.ts), the alerts (disk/), and
 * the bookkeeping that lets any decider go on from the saved state. The
 * decider around it only loads, publishes what it returns, saves the state
 * and reports (services/decider).
 */

export interface StepInput {
  /** The cluster's stored state (initialState() when it has none). */
  state: ClusterState;
  /** A sample already validated with SampleV1. */
  sample: Sample;
  /** Service defaults of every walrus.* parameter (WALRUS_* variables). */
  defaults: Policy;
  /** The decider's clock, epoch ms: decided_at, and how far ahead a sample may be dated. */
  nowMs: number;
  /** WALRUS_MAX_CLOCK_SKEW_SEC in ms (clock.ts). */
  maxSkewMs: number;
  /** The sample's place in WALRUS_SAMPLES: its stream sequence, and when JetStream stored it (the NATS server's clock, epoch ms). */
  stored: { seq: number; atMs: number };
}

export interface StepResult {
  /** The state to save. */
  state: ClusterState;
  /** To publish on walrus.decision.<cluster>, before the state is saved. */
  decision: Decision | null;
  /** The change the rules wanted, typed (the decision says it in words). */
  change: WantedChange | null;
  /** To publish on walrus.alert.<cluster>, before the state that records them is saved. */
  alerts: Alert[];
  /** Earlier changes judged at this sample (engine/effect.ts), to publish on walrus.effect.<cluster> before the state is saved. */
  effects: Effect[];
  outcome: StepOutcome;
  /** What the engine measured (WAL rate, required size, profile): status and gauges; null when no counters were judged. */
  insight: Insight | null;
  /** walrus.* settings of the cluster that were invalid or unknown and were ignored (ARCHITECTURE §3: log, metric, status). */
  warnings: ConfigWarning[];
  /** The cluster's effective policy for this sample. */
  policy: Policy;
  /** What the sample says for the cluster's gauges and counters; null when it was not evaluated (ignored, or dated ahead). */
  readings: StepReadings | null;
  /** Why the collector's clock is taken to have gone back (the cluster was re-baselined on this sample), else null. */
  clockWentBack: string | null;
  /** The time profile in force changed with this sample. */
  profileChange: { from: string | null; to: string | null } | null;
}

export interface StepReadings {
  /** collected_at of the sample. */
  sampleAt: string;
  /** max_wal_size of the cluster and walrus.max in force; null when the sample is a standby member's (its size is its own). */
  maxWalSizeMb: number | null;
  maxAllowedMb: number | null;
  /** Requested checkpoints since the cluster's previous sample (0 for a baseline, a counter that went back, a standby member's sample). */
  forcedCheckpoints: number;
  /** What holds the WAL disk; null for a standby member's sample (its disk is not the cluster's). */
  disk: DiskReading | null;
}

/** The WAL disk as a sample tells it. Absent fields: the sample does not say (an older collector, a role without pg_monitor). */
export interface DiskReading {
  /** What pg_wal holds now. */
  usedBytes?: number;
  /** walrus.wal_disk_budget in force; null without one. */
  budgetBytes: number | null;
  /** The WAL each slot holds (0 for one holding none). */
  slots?: Array<[slot: string, bytes: number]>;
  /** With archiving on, whether it fails; null with archive_mode off. */
  archiverFailing?: boolean | null;
  /** Segments waiting to be archived and their bytes; absent with archiving off or when the sample does not say. */
  archiverBacklog?: { segments: number; bytes: number };
  /** max_slot_wal_keep_size in force (MB, -1 unlimited), when the sample says. */
  slotKeepMb?: number;
  /** Slots PostgreSQL invalidated (wal_status lost, or 17+'s invalidation_reason), by name; absent when the sample lists no slots. */
  lostSlots?: string[];
  /** The time-to-full forecast (disk/forecast.ts): seconds and cause, null when nothing grows or there is no budget. */
  forecast?: { etaSec: number | null; cause: string | null; slot: string | null };
}

const MB = 1024 * 1024;

/**
 * One sample of the collector's stream (ARCHITECTURE §4 and §7, one
 * sample at a time). A sample dated further ahead of the decider's clock
 * than the tolerance is never evaluated (it would have every later sample
 * ignored until its time): only its stream position is recorded; the
 * decider that received it dead-letters it.
 */
export function step(input: StepInput): StepResult {
  const { state, sample, defaults, nowMs, maxSkewMs, stored } = input;
  const { policy, warnings } = resolvePolicy(defaults, sample.settings);
  const ahead = sampleAhead(sample, nowMs, maxSkewMs);
  if (ahead !== null) {
    return { ...unevaluated(state, policy, { kind: 'clock_ahead', reason: ahead }), state: { ...state, sampleSeq: stored.seq } };
  }
  // A clock that went back re-baselines the cluster instead of having its samples ignored (clock.ts).
  const jump = clockWentBack(state, sample, { storedAtMs: stored.atMs, nowMs, maxSkewMs });
  const result = evaluate({ state: jump?.state ?? state, sample, policy, now: toIso(nowMs) });
  if (result.outcome.kind === 'ignored_old_sample') {
    return { ...unevaluated(state, policy, result.outcome), warnings, state: { ...result.state, sampleSeq: stored.seq } };
  }
  // A standby member's counters, size and disk are its own, not the cluster's.
  const forCluster = countsForCluster(state, sample);
  // Alerts (docs/DISK-SAFETY.md) judge the book as it was before any clock
  // re-baseline: what fires does not depend on the clock. A standby
  // member's samples would resolve what the primary's raise.
  // The time-to-full forecast follows every sample of the cluster's disk, evaluated or not by the rules.
  const forecast = forCluster ? forecastDisk(sample, policy, state.forecast ?? null) : null;
  const raised = forCluster ? evaluateAlerts(state.alerts, sample, policy, { bound: result.bound ?? null, forecast: forecast?.forecast ?? null }) : null;
  return {
    state: {
      ...result.state,
      ...(forecast?.memory ? { forecast: forecast.memory } : {}),
      alerts: raised?.state ?? result.state.alerts,
      sampleSeq: stored.seq,
      // Goes with lastSampleAt (the cluster's counters): the clock check compares the next samples with this one.
      ...(forCluster && Number.isFinite(stored.atMs) ? { lastSampleStoredAt: toIso(stored.atMs) } : {}),
    },
    ...judged(state, sample, policy, result, forCluster, forecast?.forecast ?? null),
    alerts: raised?.alerts ?? [],
    effects: result.effects ?? [],
    warnings,
    clockWentBack: jump?.reason ?? null,
  };
}

export interface ManualStepInput {
  state: ClusterState;
  sample: Sample;
  defaults: Policy;
  nowMs: number;
  /** When JetStream stored the sample; null for statistics read live (never stored: now is when they would have been). */
  storedAtMs: number | null;
}

export interface ManualStepResult extends StepResult {
  /** The rate limit that would hold the same change back if it were automatic, and until when; null when none would. */
  automaticBlock: NonNullable<WantedChange['blocked']> | null;
}

/**
 * analyze with apply (pg_walrus's walrus.analyze(apply := true)): the
 * sample evaluated with the rate limits bypassed, as a manual change is in
 * pg_walrus (it still counts as a change). The collector's samples alone
 * move the alerts, the stream position and tell a clock that went back: a
 * manual step leaves those as they are.
 */
export function manualStep(input: ManualStepInput): ManualStepResult {
  const { state, sample, defaults, nowMs } = input;
  const { policy, warnings } = resolvePolicy(defaults, sample.settings);
  const result = evaluate({ state, sample, policy, now: toIso(nowMs), bypassRateLimits: true });
  if (result.outcome.kind === 'ignored_old_sample') return { ...unevaluated(state, policy, result.outcome), warnings, automaticBlock: null };
  const automatic = result.change ? evaluate({ state, sample, policy, now: toIso(nowMs) }).change?.blocked ?? null : null;
  return {
    // The clock check compares later samples' stored times with this one's. Effects are judged on the
    // collector's samples (a manual step publishes none): the check stays as it was, unless this step
    // made a change, whose check then starts here.
    state: withEffect({ ...result.state, lastSampleStoredAt: toIso(input.storedAtMs ?? nowMs) }, result.change ? result.state.effect : state.effect),
    ...judged(state, sample, policy, result, countsForCluster(state, sample)),
    alerts: [],
    effects: [],
    warnings,
    clockWentBack: null,
    automaticBlock: automatic,
  };
}

function withEffect(state: ClusterState, effect: ClusterState['effect']): ClusterState {
  const out = { ...state };
  if (effect === undefined) delete out.effect;
  else out.effect = effect;
  return out;
}

function unevaluated(state: ClusterState, policy: Policy, outcome: StepOutcome): StepResult {
  return {
    state,
    decision: null,
    change: null,
    alerts: [],
    effects: [],
    outcome,
    insight: null,
    warnings: [],
    policy,
    readings: null,
    clockWentBack: null,
    profileChange: null,
  };
}

/** What an evaluated sample gives besides its state, alerts and warnings. */
function judged(
  before: ClusterState,
  sample: Sample,
  policy: Policy,
  result: EvaluateResult,
  forCluster: boolean,
  forecast: Forecast | null = null,
): Pick<StepResult, 'decision' | 'change' | 'outcome' | 'insight' | 'policy' | 'readings' | 'profileChange'> {
  const insight = result.insight ?? null;
  return {
    decision: result.decision,
    change: result.change ?? null,
    outcome: result.outcome,
    insight,
    policy,
    readings: {
      sampleAt: sample.collected_at,
      maxWalSizeMb: forCluster ? sample.max_wal_size_mb : null,
      maxAllowedMb: forCluster ? policy.maxMb : null,
      forcedCheckpoints: forCluster ? forcedSince(before.prevRequested, sample) : 0,
      disk: forCluster ? diskReading(sample, policy, forecast) : null,
    },
    profileChange: insight && insight.profile !== before.activeProfile ? { from: before.activeProfile, to: insight.profile } : null,
  };
}

function forcedSince(prev: number | null, sample: Sample): number {
  return prev === null || sample.checkpoints_requested < prev ? 0 : sample.checkpoints_requested - prev;
}

/**
 * The WAL disk readings of a sample: a gauge appears once the sample
 * reports its value (pg_wal, a slot, archiving on) or a budget is set, and
 * goes when it no longer does (a dropped slot, a budget turned off).
 */
function diskReading(sample: Sample, policy: Policy, forecast: Forecast | null): DiskReading {
  const archiver = archiverHealth(sample);
  return {
    ...(forecast?.archiverBacklog && sample.archiver?.mode !== 'off' ? { archiverBacklog: forecast.archiverBacklog } : {}),
    ...(sample.max_slot_wal_keep_size_mb !== undefined ? { slotKeepMb: sample.max_slot_wal_keep_size_mb } : {}),
    ...(sample.replication_slots !== undefined
      ? { lostSlots: sample.replication_slots.filter((s) => s.wal_status === 'lost' || (s.invalidation_reason ?? null) !== null).map((s) => s.name) }
      : {}),
    ...(forecast && forecast.usedBytes !== null ? { forecast: { etaSec: forecast.etaSec, cause: forecast.cause, slot: forecast.slot } } : {}),
    ...(sample.pg_wal_bytes !== undefined ? { usedBytes: sample.pg_wal_bytes } : {}),
    budgetBytes: policy.walDiskBudgetMb === null ? null : policy.walDiskBudgetMb * MB,
    ...(sample.replication_slots !== undefined ? { slots: sample.replication_slots.map((s): [string, number] => [s.name, s.retained_bytes ?? 0]) } : {}),
    ...(archiver ? { archiverFailing: sample.archiver?.mode === 'off' ? null : archiver.failing } : {}),
  };
}

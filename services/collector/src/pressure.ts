import { applyProfiles, classifyCheckpoints, requiredSizeMb, resolvePolicy, type Policy, type Sample } from '@walrus/core';

/*
 * Sampling faster under pressure (docs/ALGORITHMS.md, "Fast sampling under pressure").
 * Between two samples the collector probes a cluster's primary for the
 * requested-checkpoint counter and the WAL position; when WAL outgrows
 * max_wal_size it samples at once and then every PRESSURE_INTERVAL_SEC until
 * the cluster is relieved, so that a decider sizes from the new load within
 * a second or two rather than up to a whole sample interval later. What is
 * decided stays the engine's: this only chooses when to sample.
 */

/** Seconds between samples while a cluster is under pressure; also the least time between two pressure samples of one cluster. */
export const PRESSURE_INTERVAL_SEC = 1;
/** Consecutive calm pressure samples after which a cluster goes back to its interval. */
export const CALM_SAMPLES_TO_RELIEVE = 3;

const HOUR_MS = 3_600_000;

/** What a probe read, comparable with a sample's counters. */
export interface ProbeReading {
  checkpointsRequested: number;
  walBytes: number;
  redoBytes: number | null;
  at: Date;
}

/** Why a cluster is under pressure. */
export type Pressure =
  | { kind: 'forced_checkpoints'; walCaused: number; message: string }
  | { kind: 'projected_wal'; needMb: number; maxWalSizeMb: number; message: string };

/**
 * Whether fast sampling may serve this cluster: its effective algorithm (the
 * service defaults overlaid with the sample's walrus.* settings and the time
 * profile open at the sample's time, as a decider resolves it) sizes from
 * the WAL rate. multiplicative and additive count forced checkpoints per
 * sample interval, as pg_walrus does per checkpoint_timeout: samples a
 * second apart would change what their threshold means. A cluster with
 * walrus.enable off is not sized at all.
 */
export function fastSamplingApplies(defaults: Policy, sample: Sample): boolean {
  const { policy } = applyProfiles(resolvePolicy(defaults, sample.settings).policy, sample.collected_at);
  return policy.enable && (policy.algorithm === 'adaptive' || policy.algorithm === 'percentile');
}

/** `reading` as the sample it would be: the last sample's settings with the probe's counters. */
function asSample(last: Sample, reading: ProbeReading): Sample {
  const { checkpoint_redo_bytes: _redo, ...rest } = last;
  return {
    ...rest,
    collected_at: reading.at.toISOString(),
    checkpoints_requested: reading.checkpointsRequested,
    wal_bytes: reading.walBytes,
    ...(reading.redoBytes === null ? {} : { checkpoint_redo_bytes: reading.redoBytes }),
  };
}

/** Checkpoints WAL volume forced between `prev` and `next` (core's classification: CHECKPOINT commands do not count). */
export function walCausedBetween(prev: Sample, next: Sample): number {
  const requested = next.checkpoints_requested - prev.checkpoints_requested;
  // A counter that went back was reset (pg_stat_reset_shared, a restart without stats): nothing to tell.
  if (requested <= 0) return 0;
  return classifyCheckpoints(requested, { redoBytes: prev.checkpoint_redo_bytes ?? null, sizeMb: prev.max_wal_size_mb }, next).walCaused;
}

/**
 * The max_wal_size (MB) that the WAL written from `from` to `to`, at its
 * rate, needs (core's requiredSizeMb), or null when no time passed or WAL
 * went back.
 */
export function projectedNeedMb(from: { at: number; walBytes: number }, to: { at: number; walBytes: number }, sample: Sample): number | null {
  const seconds = (to.at - from.at) / 1000;
  if (seconds <= 0 || to.walBytes < from.walBytes) return null;
  return requiredSizeMb((to.walBytes - from.walBytes) / seconds, sample);
}

/**
 * Pressure seen by a probe since the last sample: WAL forced a checkpoint,
 * or the WAL written since, projected at its rate, needs more than
 * max_wal_size. null: calm.
 */
export function pressureSince(last: Sample, reading: ProbeReading): Pressure | null {
  const now = asSample(last, reading);
  const walCaused = walCausedBetween(last, now);
  if (walCaused > 0) return { kind: 'forced_checkpoints', walCaused, message: `${walCaused} checkpoint(s) forced by WAL volume since the last sample` };
  const needMb = projectedNeedMb({ at: Date.parse(last.collected_at), walBytes: last.wal_bytes }, { at: reading.at.getTime(), walBytes: reading.walBytes }, last);
  if (needMb !== null && needMb > last.max_wal_size_mb) {
    return {
      kind: 'projected_wal',
      needMb,
      maxWalSizeMb: last.max_wal_size_mb,
      message: `the WAL rate since the last sample needs ${needMb} MB, more than max_wal_size ${last.max_wal_size_mb} MB`,
    };
  }
  return null;
}

/**
 * Tells, sample after sample of fast sampling, when a cluster is relieved:
 * CALM_SAMPLES_TO_RELIEVE samples in a row without a checkpoint forced by
 * WAL, over which the WAL rate needs no more than max_wal_size. The rate is
 * measured over the whole calm run, not one second: WAL right after a
 * checkpoint is inflated by full-page images, and a one-second window would
 * see that as pressure again.
 */
export class ReliefTracker {
  private calmFrom: { at: number; walBytes: number } | null = null;
  private calm = 0;
  private prev: Sample | null = null;

  /** Feeds the next sample of fast sampling; true once relieved. */
  next(sample: Sample): boolean {
    const prev = this.prev;
    this.prev = sample;
    const here = { at: Date.parse(sample.collected_at), walBytes: sample.wal_bytes };
    if (prev === null || this.calmFrom === null || walCausedBetween(prev, sample) > 0) {
      this.calmFrom = here;
      this.calm = 0;
      return false;
    }
    const needMb = projectedNeedMb(this.calmFrom, here, sample);
    if (needMb === null || needMb > sample.max_wal_size_mb) {
      this.calmFrom = here;
      this.calm = 0;
      return false;
    }
    this.calm += 1;
    return this.calm >= CALM_SAMPLES_TO_RELIEVE;
  }
}

/**
 * One cluster's allowance of pressure samples, shared by its members'
 * samplers: at most one per PRESSURE_INTERVAL_SEC and `perHour` in any
 * hour (a sliding window), so that a fleet under pressure costs at most
 * that many extra samples per cluster.
 */
export class PressureBudget {
  private readonly taken: number[] = [];

  constructor(readonly perHour: number) {}

  /**
   * Takes one pressure sample at `atMs` if the budget allows: `wait` says
   * how long until the previous one is a second old, `exhausted` that the
   * hour's samples are spent.
   */
  take(atMs: number): { ok: true } | { ok: false; waitMs: number } | { ok: false; exhausted: true } {
    while (this.taken.length > 0 && (this.taken[0] ?? 0) <= atMs - HOUR_MS) this.taken.shift();
    if (this.taken.length >= this.perHour) return { ok: false, exhausted: true };
    const last = this.taken.at(-1);
    if (last !== undefined && atMs - last < PRESSURE_INTERVAL_SEC * 1000) return { ok: false, waitMs: PRESSURE_INTERVAL_SEC * 1000 - (atMs - last) };
    this.taken.push(atMs);
    return { ok: true };
  }

  /** Whether any pressure sample is left in the hour up to `atMs`. */
  exhausted(atMs: number): boolean {
    return this.taken.filter((t) => t > atMs - HOUR_MS).length >= this.perHour;
  }
}

/*
 * A cluster in a few lines for the algorithm tests: WAL written at a given
 * rate, samples every `step` seconds, and max_wal_size following each
 * executable decision as the applier would make it. Not exported from mod.ts.
 */
import type { Policy } from '../../config/policy.js';
import { isExecutable, type Decision, type Sample } from '../../schemas.js';
import { at, NOW, policy as basePolicy } from '../../testing/builders.js';
import { evaluate } from '../evaluate.js';
import type { EvaluateResult } from '../evaluation.js';
import { type ClusterState, initialState } from '../state/current.js';
import { checkpointSegments, MB } from '../wal-rate.js';

/** The scenario cluster's WAL segment size (PostgreSQL's default). */
const SEGMENT = 16 * MB;

export interface Tick {
  /** WAL rate (MB/s) during the sample interval that ends here. */
  rate: number;
  /** Requested checkpoints counted in the interval (added to the cumulative counter). */
  requested?: number;
  /** Redo point advance (bytes) in the interval; default: as far as WAL went when requested > 0, else nothing. */
  redoAdvance?: number;
  /** Seconds since the previous sample (default: the scenario's step). */
  dt?: number;
}

export interface ScenarioResult {
  results: EvaluateResult[];
  decisions: Decision[];
  sizes: number[];
  state: ClusterState;
}

export function scenario(
  ticks: Tick[],
  opts: {
    policy?: Partial<Policy>;
    step?: number;
    timeout?: number;
    startMb?: number;
    redo?: boolean;
    /** PostgreSQL's own rule too (XLogCheckpointNeeded): a checkpoint is forced (requested, redo moved) once the WAL reaches CheckPointSegments segments past the redo point's segment. */
    walForces?: boolean;
    /** More sample fields at `t` seconds (e.g. the cumulative counters an effect is judged by). */
    extra?: (t: number) => Partial<Sample>;
    /** Samples a decided size takes to be in force (the applier's delay, a broker outage); 0 = at the next sample. */
    applyAfterSamples?: number;
  } = {},
): ScenarioResult {
  const step = opts.step ?? 5;
  const p = basePolicy({ minSizeMb: 32, cooldownSec: 0, maxChangesPerHour: 1000, ...opts.policy });
  let size = opts.startMb ?? 32;
  let wal = 0;
  let redo = 0;
  let requested = 0;
  let state = initialState();
  const timeout = opts.timeout ?? 30;
  const results: EvaluateResult[] = [];
  const decisions: Decision[] = [];
  const sizes: number[] = [];
  const all: Tick[] = [{ rate: 0 }, ...ticks];
  let t = 0;
  // Decided sizes waiting to be in force: [sample index from which on, size].
  const pendingSizes: Array<[number, number]> = [];
  all.forEach((tick, i) => {
    while (pendingSizes.length > 0 && (pendingSizes[0]?.[0] ?? Infinity) <= i) size = pendingSizes.shift()?.[1] ?? size;
    const dt = i === 0 ? 0 : (tick.dt ?? step);
    const prevT = t;
    t += dt;
    const written = tick.rate * MB * dt;
    wal += written;
    requested += tick.requested ?? 0;
    // Forced checkpoints move the redo point with the WAL; otherwise a timed one every checkpoint_timeout.
    const timedNow = i > 0 && Math.floor(t / timeout) > Math.floor(prevT / timeout);
    const segmentsPastRedo = Math.floor(wal / SEGMENT) - Math.floor(redo / SEGMENT);
    const segmentsToForce = checkpointSegments(size, 0.9, SEGMENT);
    const walForced = opts.walForces === true && tick.redoAdvance === undefined && segmentsPastRedo >= segmentsToForce;
    if (walForced) {
      requested += Math.floor(segmentsPastRedo / segmentsToForce);
      redo = wal;
    } else if (tick.redoAdvance !== undefined) redo += tick.redoAdvance;
    else if ((tick.requested ?? 0) > 0 || timedNow) redo = wal;
    const s: Sample = {
      v: 1,
      cluster: 'pg-test',
      collected_at: at(t),
      server_version_num: 170000,
      in_recovery: false,
      checkpoints_requested: requested,
      checkpoints_timed: 0,
      stats_reset: null,
      wal_lsn: '0/0',
      wal_bytes: wal,
      max_wal_size_mb: size,
      checkpoint_timeout_s: timeout,
      checkpoint_completion_target: 0.9,
      settings: {},
      ...(opts.redo === false ? {} : { checkpoint_redo_bytes: redo, wal_segment_size_bytes: SEGMENT }),
      ...(opts.extra?.(t) ?? {}),
    };
    const r = evaluate({ state, sample: s, policy: p, now: NOW });
    state = r.state;
    results.push(r);
    if (r.decision) {
      decisions.push(r.decision);
      if (isExecutable(r.decision.action)) {
        if ((opts.applyAfterSamples ?? 0) === 0) size = r.decision.new_size_mb;
        else pendingSizes.push([i + 1 + (opts.applyAfterSamples ?? 0), r.decision.new_size_mb]);
      }
    }
    sizes.push(size);
  });
  return { results, decisions, sizes, state };
}

/** `n` ticks of the same shape. */
export const repeat = (n: number, tick: Tick): Tick[] => Array.from({ length: n }, () => ({ ...tick }));

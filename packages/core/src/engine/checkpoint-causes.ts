import type { Sample } from '../schemas.js';
import { checkpointSegments, segmentBytes } from './wal-rate.js';

/** How the requested checkpoints of one interval split between WAL volume and everything else. */
export interface CheckpointCauses {
  /** Requested checkpoints counted in the interval (the counter's delta). */
  requested: number;
  /** At most this many can have been forced by WAL volume. */
  walCaused: number;
  /** The rest: CHECKPOINT commands, base backups, shutdowns. */
  other: number;
  /**
   * Requested checkpoints not judged yet because the redo point has not
   * moved since the last sample: they are still running (PostgreSQL counts a
   * requested checkpoint when it starts, pg_control gets its redo point when
   * it ends). Carried into the next sample's judgement.
   */
  pending: number;
  /** `redo_distance` when the samples carry redo points, else `unknown` (all counted as WAL-caused). */
  basis: 'redo_distance' | 'unknown';
  /** The reasoning, for decision metadata. */
  reason: string;
}

/**
 * PostgreSQL counts a CHECKPOINT command, a base backup or a shutdown as
 * "requested", like a checkpoint forced by WAL volume; no counter records the
 * cause. The redo points tell: a backend asks for a WAL checkpoint only once
 * it finishes segment N >= redo segment + CheckPointSegments - 1, so the next
 * redo point lies at least CheckPointSegments segments past the previous one.
 * Between two samples, at most
 *   floor((segment of the latest redo - segment of the previous redo) / CheckPointSegments)
 * requested checkpoints can be WAL-caused (timed ones in between only use
 * distance up, and the smaller of the two max_wal_size values keeps the bound
 * generous). The remainder was caused by something else.
 */
export function classifyCheckpoints(
  counted: number,
  prev: { redoBytes: number | null; sizeMb: number; pending?: number } | null,
  sample: Sample,
): CheckpointCauses {
  const redo = sample.checkpoint_redo_bytes;
  // Those still running at the last sample are judged with this interval's.
  const requested = counted + (prev?.pending ?? 0);
  if (requested === 0) {
    return { requested, walCaused: 0, other: 0, pending: 0, basis: redo === undefined ? 'unknown' : 'redo_distance', reason: 'no requested checkpoints' };
  }
  if (redo !== undefined && prev !== null && prev.redoBytes !== null && redo === prev.redoBytes) {
    // Nothing finished since the last sample. A CHECKPOINT command returns
    // only once its checkpoint is done, so one that ran in between would
    // have moved the redo point: these are running, most likely forced by
    // WAL (at a small max_wal_size the next one is asked for at once).
    // Calling them "other" would distrust the rate of a load that just began
    // (docs/ALGORITHMS.md, "Full-page-image spikes") and never count them as forced.
    return {
      requested,
      walCaused: 0,
      other: 0,
      pending: requested,
      basis: 'redo_distance',
      reason: `the redo point has not moved since the last sample: ${requested} requested checkpoint(s) still running, judged when they complete`,
    };
  }
  if (redo === undefined || prev === null || prev.redoBytes === null || redo < prev.redoBytes) {
    return {
      requested,
      walCaused: requested,
      other: 0,
      pending: 0,
      basis: 'unknown',
      reason: 'the samples carry no comparable checkpoint redo points: every requested checkpoint counts as WAL-caused',
    };
  }
  const seg = segmentBytes(sample);
  const segments = checkpointSegments(Math.min(prev.sizeMb, sample.max_wal_size_mb), sample.checkpoint_completion_target, seg);
  const redoSegments = Math.floor(redo / seg) - Math.floor(prev.redoBytes / seg);
  const bound = Math.floor(redoSegments / segments);
  const walCaused = Math.min(requested, bound);
  const other = requested - walCaused;
  return {
    requested,
    walCaused,
    other,
    pending: 0,
    basis: 'redo_distance',
    reason:
      `the redo point moved ${redoSegments} WAL segments and a WAL-forced checkpoint needs ${segments}: ` +
      `at most ${bound} of ${requested} requested checkpoints were caused by WAL volume` +
      (other > 0 ? `, ${other} by something else (CHECKPOINT command, base backup, shutdown)` : ''),
  };
}

/**
 * PostgreSQL 18 counts in `pg_stat_checkpointer.num_done` the checkpoints
 * really performed; `num_requested` and `num_timed` also count skipped ones.
 * However the requested ones split, no more of them can have been performed
 * (and so have forced anything) than were done in the interval: that bounds
 * the WAL-caused count where the redo points cannot (no comparable redo
 * point, a 17 or older server has no such counter). `doneDelta` is null when
 * unknown.
 */
export function boundByDone(causes: CheckpointCauses, doneDelta: number | null): CheckpointCauses {
  if (doneDelta === null || doneDelta >= causes.walCaused) return causes;
  const skipped = causes.walCaused - doneDelta;
  return {
    ...causes,
    walCaused: doneDelta,
    other: causes.other + skipped,
    reason: `${causes.reason}; pg_stat_checkpointer.num_done counts ${doneDelta} checkpoint(s) performed in the interval, so at most ${doneDelta} were WAL-caused`,
  };
}

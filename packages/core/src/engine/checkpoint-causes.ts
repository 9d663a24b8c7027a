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
  requested: number,
  prev: { redoBytes: number | null; sizeMb: number } | null,
  sample: Sample,
): CheckpointCauses {
  const redo = sample.checkpoint_redo_bytes;
  if (requested === 0) {
    return { requested, walCaused: 0, other: 0, basis: redo === undefined ? 'unknown' : 'redo_distance', reason: 'no requested checkpoints' };
  }
  if (redo === undefined || prev === null || prev.redoBytes === null || redo < prev.redoBytes) {
    return {
      requested,
      walCaused: requested,
      other: 0,
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
    basis: 'redo_distance',
    reason:
      `the redo point moved ${redoSegments} WAL segments and a WAL-forced checkpoint needs ${segments}: ` +
      `at most ${bound} of ${requested} requested checkpoints were caused by WAL volume` +
      (other > 0 ? `, ${other} by something else (CHECKPOINT command, base backup, shutdown)` : ''),
  };
}

import type { Archiver } from '../../disk-schemas.js';
import type { Sample } from '../../schemas.js';
import { toMs } from '../time.js';

export interface ArchiverHealth {
  failing: boolean;
  /** One line: why it is failing, or why it is not. */
  detail: string;
}

const waiting = (a: Archiver): string => (a.pending_files === null ? '' : `; ${a.pending_files} WAL segment(s) wait to be archived`);

/**
 * Whether the archiver keeps WAL on disk, from `pg_stat_archiver` alone (no
 * history needed, so a restarted decider judges the same way):
 *
 * - failing: archiving is on and its latest attempt failed (the last failure
 *   is newer than the last success, or nothing was ever archived). PostgreSQL
 *   retries the same segment and keeps every later one until it succeeds.
 * - failing too: archive_mode is on but neither archive_command nor
 *   archive_library is set while segments wait: PostgreSQL then keeps all
 *   WAL "in the expectation that a command will soon be provided".
 * - not failing: archive_mode off, a standby with archive_mode = on (only
 *   `always` archives there), or a success after the last failure (which is
 *   also what a statistics reset looks like: both times become null).
 */
export function archiverHealth(sample: Sample): ArchiverHealth | null {
  const a = sample.archiver;
  if (!a) return null;
  if (a.mode === 'off') return { failing: false, detail: 'archive_mode is off' };
  if (sample.in_recovery && a.mode === 'on') return { failing: false, detail: 'a standby with archive_mode = on does not archive' };
  if (!a.configured && (a.pending_files ?? 0) > 0) {
    return { failing: true, detail: `archive_mode is ${a.mode} but neither archive_command nor archive_library is set${waiting(a)}` };
  }
  const failedMs = a.last_failed_at === null ? null : toMs(a.last_failed_at);
  const archivedMs = a.last_archived_at === null ? null : toMs(a.last_archived_at);
  if (failedMs !== null && (archivedMs === null || failedMs > archivedMs)) {
    return {
      failing: true,
      detail:
        `archiving fails: ${a.failed_count} failed attempt(s), the last for ${a.last_failed_wal ?? '?'} at ${a.last_failed_at}` +
        (a.last_archived_at ? `; last success ${a.last_archived_wal ?? '?'} at ${a.last_archived_at}` : '; nothing archived yet') +
        waiting(a),
    };
  }
  return {
    failing: false,
    detail:
      (a.last_archived_at ? `archiving works: ${a.last_archived_wal ?? '?'} archived at ${a.last_archived_at}` : 'no archive attempt failed') +
      waiting(a),
  };
}

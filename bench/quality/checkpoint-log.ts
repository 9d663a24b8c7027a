/**
 * Checkpoints as the server log tells them (log_checkpoints, on by default
 * since PostgreSQL 15): why each one started (`checkpoint starting: wal` is
 * WAL-forced, `time` timed, `immediate force wait` a CHECKPOINT command) and
 * its redo LSN (`checkpoint complete: ... redo lsn=X/Y`, PostgreSQL 17+).
 * The counters cannot tell a WAL-forced checkpoint from a CHECKPOINT
 * command; the log can, and the redo LSN is the exact WAL position where
 * each checkpoint cycle begins.
 */

export type CheckpointCause = 'wal' | 'time' | 'manual' | 'other';

export interface CheckpointEvent {
  /** When `checkpoint starting` was logged, epoch ms. */
  startMs: number;
  /** The flags after `checkpoint starting:`, e.g. ['immediate', 'force', 'wait']. */
  flags: string[];
  cause: CheckpointCause;
  /** From its `checkpoint complete` line; null when the excerpt ends before it. */
  redoLsnBytes: number | null;
  completeMs: number | null;
}

/** The log lines worth keeping with a run: every line about a checkpoint (the raw excerpt the report reads). */
export function checkpointLines(log: string): string[] {
  return log.split('\n').filter((l) => /LOG:\s+checkpoint/.test(l));
}

// log_line_prefix '%m [%p] ' with log_timezone UTC (set by the bench): "2026-12-07 17:49:26.637 UTC [9686] LOG:  ..."
const PREFIX = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) UTC /;
const STARTING = /LOG:\s+checkpoint starting:(.*)$/;
const COMPLETE = /LOG:\s+checkpoint complete:.*redo lsn=([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)/;

/** An LSN `X/Y` as a byte position. */
export function lsnBytes(hi: string, lo: string): number {
  return parseInt(hi, 16) * 2 ** 32 + parseInt(lo, 16);
}

function causeOf(flags: readonly string[]): CheckpointCause {
  // A CHECKPOINT command asks for immediate + force; a WAL request merged into it stays a command's.
  if (flags.includes('immediate') || flags.includes('force')) return 'manual';
  if (flags.includes('wal')) return 'wal';
  if (flags.includes('time')) return 'time';
  return 'other';
}

/**
 * The checkpoints of an excerpt in order, each start paired with the next
 * completion (the checkpointer runs one at a time). Lines without the UTC
 * prefix are refused: a timestamp in another zone would shift every figure.
 */
export function parseCheckpointLog(lines: readonly string[]): CheckpointEvent[] {
  const events: CheckpointEvent[] = [];
  let open: CheckpointEvent | null = null;
  for (const line of lines) {
    const starting = STARTING.exec(line);
    const complete = COMPLETE.exec(line);
    if (!starting && !complete) continue;
    const prefix = PREFIX.exec(line);
    if (!prefix) throw new Error(`a checkpoint log line without a UTC timestamp (log_timezone must be UTC): ${line}`);
    const ms = Date.parse(`${prefix[1]}T${prefix[2]}Z`);
    if (starting) {
      const flags = (starting[1] ?? '').trim().split(/\s+/).filter((f) => f !== '');
      open = { startMs: ms, flags, cause: causeOf(flags), redoLsnBytes: null, completeMs: null };
      events.push(open);
    } else if (complete && open) {
      open.redoLsnBytes = lsnBytes(complete[1] ?? '0', complete[2] ?? '0');
      open.completeMs = ms;
      open = null;
    }
  }
  return events;
}

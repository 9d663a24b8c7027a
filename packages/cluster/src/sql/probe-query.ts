import { CHECKPOINTER_VIEW_SINCE } from './sample-query.js';

/**
 * The collector's pressure probe between two samples: only what tells that
 * WAL is outgrowing max_wal_size, the requested-checkpoint counter, the
 * WAL position and the last checkpoint's redo point (which tells a
 * checkpoint WAL forced from a CHECKPOINT command), in one short statement
 * (no settings, no timeline). Same columns and the same recovery guard as the sample
 * statement, so that a probe compares with the last sample exactly.
 */
function probeSql(view: string, requested: string): string {
  return `
SELECT
  c.${requested}::text AS checkpoints_requested,
  (s.lsn - '0/0'::pg_lsn)::text AS wal_bytes,
  (cp.redo_lsn - '0/0'::pg_lsn)::text AS checkpoint_redo_bytes
FROM ${view} AS c
CROSS JOIN (
  SELECT CASE WHEN r.in_recovery THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn
    FROM (SELECT pg_is_in_recovery() AS in_recovery) AS r
) AS s
CROSS JOIN pg_control_checkpoint() AS cp`;
}

/** PostgreSQL 15 and 16: pg_stat_bgwriter.checkpoints_req. */
export const PROBE_SQL_BGWRITER = probeSql('pg_stat_bgwriter', 'checkpoints_req');
/** PostgreSQL 17 and later: pg_stat_checkpointer.num_requested. */
export const PROBE_SQL_CHECKPOINTER = probeSql('pg_stat_checkpointer', 'num_requested');

export function probeSqlFor(serverVersionNum: number): string {
  return serverVersionNum >= CHECKPOINTER_VIEW_SINCE ? PROBE_SQL_CHECKPOINTER : PROBE_SQL_BGWRITER;
}

export interface ProbeRow {
  checkpoints_requested: string;
  wal_bytes: string | null;
  checkpoint_redo_bytes: string | null;
}

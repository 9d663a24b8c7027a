/**
 * SQL text of the two statements that read a sample (server version once per
 * connection, then the sample). The text is fixed (parameters only), so that
 * the server can keep a plan per connection and nothing is built by
 * concatenation at run time.
 */

/** Lowest supported server: pg_stat_bgwriter / pg_stat_checkpointer layouts and GRANT ... ON PARAMETER are 15+. */
export const MIN_SERVER_VERSION_NUM = 150000;
/** From 17, checkpoint counters moved from pg_stat_bgwriter to pg_stat_checkpointer. */
export const CHECKPOINTER_VIEW_SINCE = 170000;

export const SERVER_VERSION_SQL = "SELECT current_setting('server_version_num') AS server_version_num";

/**
 * Everything a sample needs, in one statement (one snapshot of the
 * cumulative statistics). Every column is text: parsing is ours, whatever
 * type parsers the caller's pg client has.
 *
 * - `pg_is_in_recovery()` is read once in a subquery the planner cannot
 *   flatten (it is volatile), and the CASE only evaluates
 *   `pg_current_wal_lsn()` on a primary: on a standby it raises
 *   "recovery is in progress".
 * - max_wal_size / checkpoint_timeout come from pg_settings with their unit
 *   (MB and s on 15-18), converted in TypeScript so that a different unit
 *   fails loudly instead of being misread.
 * - The last checkpoint's redo point (`pg_control_checkpoint()`, callable
 *   without privileges) and wal_segment_size let the engine tell requested
 *   checkpoints that WAL volume caused from manual ones.
 * - walrus.* placeholders are invisible in pg_settings: `current_setting(name,
 *   true)` for each name in $1. An empty value is left out like NULL: once a
 *   session has seen a placeholder (e.g. ALTER SYSTEM + reload), removing the
 *   setting leaves it as '' in that session, not NULL (proved by a test), so
 *   '' means "not set" for a long-lived collector connection.
 * - Counters that only some versions have (18's num_done, 17+'s
 *   restartpoints_*) are read through to_jsonb of the view's row: NULL
 *   where the column does not exist, so one text serves every version.
 * - The timeline (TIMELINE_COLUMNS): which history the server is on, so
 *   that the engine can tell a new primary from a stale one.
 * - Cumulative checkpoint write and sync time (ms), full-page images
 *   (pg_stat_wal.wal_fpi) and committed transactions (pg_stat_database,
 *   all databases): what a change of max_wal_size did (engine/effect.ts).
 */
function sampleSql(view: string, requested: string, timed: string, writeTime: string, syncTime: string): string {
  return `
SELECT
  current_setting('server_version_num') AS server_version_num,
  s.in_recovery::text AS in_recovery,
  c.${requested}::text AS checkpoints_requested,
  c.${timed}::text AS checkpoints_timed,
  to_char(c.stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS stats_reset,
  s.lsn::text AS wal_lsn,
  (s.lsn - '0/0'::pg_lsn)::text AS wal_bytes,
  mws.setting AS max_wal_size,
  mws.unit AS max_wal_size_unit,
  ct.setting AS checkpoint_timeout,
  ct.unit AS checkpoint_timeout_unit,
  current_setting('checkpoint_completion_target') AS checkpoint_completion_target,
  (SELECT coalesce(json_object_agg(p.name, p.value), '{}')::text
     FROM (SELECT n AS name, current_setting(n, true) AS value FROM unnest($1::text[]) AS n) AS p
    WHERE p.value <> '') AS settings,
  (cp.redo_lsn - '0/0'::pg_lsn)::text AS checkpoint_redo_bytes,
  ws.setting AS wal_segment_size,
  ws.unit AS wal_segment_size_unit,
  c.${writeTime}::text AS checkpoint_write_time_ms,
  c.${syncTime}::text AS checkpoint_sync_time_ms,
  (SELECT w.wal_fpi::text FROM pg_stat_wal AS w) AS wal_fpi,
  (SELECT sum(d.xact_commit)::text FROM pg_stat_database AS d) AS xact_commit,
  to_jsonb(c) ->> 'num_done' AS checkpoints_done,
  to_jsonb(c) ->> 'restartpoints_req' AS restartpoints_requested,
  to_jsonb(c) ->> 'restartpoints_timed' AS restartpoints_timed,
  to_jsonb(c) ->> 'restartpoints_done' AS restartpoints_done,
  ${TIMELINE_COLUMNS}
FROM ${view} AS c
CROSS JOIN (
  SELECT r.in_recovery,
         CASE WHEN r.in_recovery THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn
    FROM (SELECT pg_is_in_recovery() AS in_recovery) AS r
) AS s
CROSS JOIN (SELECT setting, unit FROM pg_settings WHERE name = 'max_wal_size') AS mws
CROSS JOIN (SELECT setting, unit FROM pg_settings WHERE name = 'checkpoint_timeout') AS ct
CROSS JOIN (SELECT setting, unit FROM pg_settings WHERE name = 'wal_segment_size') AS ws
CROSS JOIN pg_control_checkpoint() AS cp`;
}

/**
 * The server's timeline, read three ways (parsed by `timelineOf`): a
 * primary's from the WAL file it writes (`pg_walfile_name` shows a new
 * timeline at once after promotion, while `pg_control_checkpoint()` names
 * the old one until the next checkpoint; it raises an error during
 * recovery, hence the CASE); a standby's from its WAL receiver (needs
 * pg_monitor, NULL while it does not stream), else from its last
 * restartpoint. `s` is the sample's subquery with `in_recovery` and `lsn`.
 */
export const TIMELINE_COLUMNS = `CASE WHEN s.in_recovery THEN NULL ELSE pg_walfile_name(s.lsn) END AS wal_file,
  (SELECT w.received_tli::text FROM pg_stat_wal_receiver AS w) AS received_tli,
  (SELECT c.timeline_id::text FROM pg_control_checkpoint() AS c) AS checkpoint_tli`;

/** PostgreSQL 15 and 16: pg_stat_bgwriter.checkpoints_req / checkpoints_timed. */
export const SAMPLE_SQL_BGWRITER = sampleSql('pg_stat_bgwriter', 'checkpoints_req', 'checkpoints_timed', 'checkpoint_write_time', 'checkpoint_sync_time');
/** PostgreSQL 17 and later: pg_stat_checkpointer.num_requested / num_timed. */
export const SAMPLE_SQL_CHECKPOINTER = sampleSql('pg_stat_checkpointer', 'num_requested', 'num_timed', 'write_time', 'sync_time');

export function sampleSqlFor(serverVersionNum: number): string {
  return serverVersionNum >= CHECKPOINTER_VIEW_SINCE ? SAMPLE_SQL_CHECKPOINTER : SAMPLE_SQL_BGWRITER;
}

/** The row of the sample statement, all text (NULL only where the server has no value). */
export interface SampleRow {
  server_version_num: string;
  in_recovery: string;
  checkpoints_requested: string;
  checkpoints_timed: string;
  stats_reset: string | null;
  wal_lsn: string | null;
  wal_bytes: string | null;
  max_wal_size: string;
  max_wal_size_unit: string | null;
  checkpoint_timeout: string;
  checkpoint_timeout_unit: string | null;
  checkpoint_completion_target: string;
  settings: string;
  checkpoint_redo_bytes: string | null;
  wal_segment_size: string | null;
  wal_segment_size_unit: string | null;
  checkpoint_write_time_ms: string | null;
  checkpoint_sync_time_ms: string | null;
  wal_fpi: string | null;
  xact_commit: string | null;
  checkpoints_done: string | null;
  restartpoints_requested: string | null;
  restartpoints_timed: string | null;
  restartpoints_done: string | null;
  wal_file: string | null;
  received_tli: string | null;
  checkpoint_tli: string | null;
}

/** The timeline of the TIMELINE_COLUMNS, or null when the server gives none. */
export function timelineOf(row: { wal_file: string | null; received_tli: string | null; checkpoint_tli: string | null }): number | null {
  // A WAL file name starts with the timeline, 8 hex digits.
  const fromFile = row.wal_file && /^[0-9A-F]{8}/i.test(row.wal_file) ? Number.parseInt(row.wal_file.slice(0, 8), 16) : NaN;
  for (const tli of [fromFile, Number(row.received_tli ?? NaN), Number(row.checkpoint_tli ?? NaN)]) {
    if (Number.isSafeInteger(tli) && tli > 0) return tli;
  }
  return null;
}

/** In recovery or not, and the timeline: what the applier and control need to find a cluster's primary. */
export const ROLE_SQL = `
SELECT s.in_recovery::text AS in_recovery,
  ${TIMELINE_COLUMNS}
FROM (
  SELECT r.in_recovery, CASE WHEN r.in_recovery THEN NULL ELSE pg_current_wal_lsn() END AS lsn
    FROM (SELECT pg_is_in_recovery() AS in_recovery) AS r
) AS s`;

export interface RoleRow {
  in_recovery: string;
  wal_file: string | null;
  received_tli: string | null;
  checkpoint_tli: string | null;
}

/**
 * SQL text of the statement that reads what holds WAL on disk
 * (docs/DISK-SAFETY.md): the size of pg_wal, the replication slots and the WAL each one
 * keeps, wal_keep_size, and the archiver. The same text on PostgreSQL 15 to
 * 18 (every column used exists unchanged there), and `pg_monitor` is enough:
 * pg_ls_waldir() and pg_ls_archive_statusdir() are granted to it, the views
 * and settings are readable by it.
 *
 * A statement of its own, after the sample's: a role that may read the
 * checkpoint statistics but not pg_wal (no pg_monitor) still gets samples,
 * only without these fields (the collector says so once).
 *
 * - The position slots are measured against is pg_current_wal_lsn() on a
 *   primary and pg_last_wal_replay_lsn() on a standby (the former raises an
 *   error there); CASE evaluates only the branch it takes.
 * - A slot without restart_lsn (never reserved, or lost) holds nothing.
 * - The slots holding the most WAL come first and at most $1 of them are
 *   listed (the sample's limit); the count says how many there are.
 * - archive_command shows as "(disabled)" while archiving is off (its show
 *   hook): that is not a command.
 * - `.ready` files are listed only when archiving is on: a long-failing
 *   archiver leaves thousands, and with archiving off there are none.
 * - Slot columns of 17+ (invalidation_reason, inactive_since) are read
 *   through to_jsonb of the view's row, NULL before 17, and
 *   idle_replication_slot_timeout (18) is a pg_settings row that older
 *   versions lack: one text for every version.
 * - Every column is text (or JSON text): parsing is ours, as for the sample.
 */
export const WAL_DISK_SQL = `
SELECT
  (SELECT coalesce(sum(w.size), 0) FROM pg_ls_waldir() AS w)::text AS pg_wal_bytes,
  ks.setting AS wal_keep_size,
  ks.unit AS wal_keep_size_unit,
  (SELECT count(*) FROM pg_replication_slots)::text AS slot_count,
  (SELECT coalesce(json_agg(json_build_object(
              'name', r.slot_name,
              'type', r.slot_type,
              'active', r.active,
              'wal_status', r.wal_status,
              'retained_bytes', r.retained,
              'safe_wal_size_bytes', r.safe_wal_size,
              'invalidation_reason', r.invalidation_reason,
              'inactive_since', r.inactive_since)
            ORDER BY r.retained DESC NULLS LAST, r.slot_name), '[]')::text
     FROM (SELECT sl.slot_name, sl.slot_type, sl.active, sl.wal_status, sl.safe_wal_size,
                  to_jsonb(sl) ->> 'invalidation_reason' AS invalidation_reason,
                  to_char((to_jsonb(sl) ->> 'inactive_since')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS inactive_since,
                  CASE WHEN sl.restart_lsn IS NULL OR p.lsn IS NULL THEN NULL
                       ELSE greatest(p.lsn - sl.restart_lsn, 0) END AS retained
             FROM pg_replication_slots AS sl
            ORDER BY retained DESC NULLS LAST, sl.slot_name
            LIMIT $1) AS r) AS slots,
  current_setting('archive_mode') AS archive_mode,
  (current_setting('archive_command') NOT IN ('', '(disabled)') OR current_setting('archive_library') <> '')::text AS archive_configured,
  a.archived_count::text AS archived_count,
  a.failed_count::text AS failed_count,
  a.last_archived_wal,
  to_char(a.last_archived_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_archived_at,
  a.last_failed_wal,
  to_char(a.last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_failed_at,
  CASE WHEN current_setting('archive_mode') <> 'off'
       THEN (SELECT count(*) FROM pg_ls_archive_statusdir() AS f WHERE f.name LIKE '%.ready')::text
  END AS pending_files,
  msk.setting AS max_slot_wal_keep_size,
  msk.unit AS max_slot_wal_keep_size_unit,
  (SELECT st.setting FROM pg_settings AS st WHERE st.name = 'idle_replication_slot_timeout') AS idle_slot_timeout,
  (SELECT st.unit FROM pg_settings AS st WHERE st.name = 'idle_replication_slot_timeout') AS idle_slot_timeout_unit
FROM (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn) AS p
CROSS JOIN pg_stat_archiver AS a
CROSS JOIN (SELECT setting, unit FROM pg_settings WHERE name = 'wal_keep_size') AS ks
CROSS JOIN (SELECT setting, unit FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS msk`;

/** The row of the statement, all text (NULL where the server has no value). */
export interface WalDiskRow {
  pg_wal_bytes: string;
  wal_keep_size: string;
  wal_keep_size_unit: string | null;
  slot_count: string;
  slots: string;
  archive_mode: string;
  archive_configured: string;
  archived_count: string;
  failed_count: string;
  last_archived_wal: string | null;
  last_archived_at: string | null;
  last_failed_wal: string | null;
  last_failed_at: string | null;
  pending_files: string | null;
  max_slot_wal_keep_size: string;
  max_slot_wal_keep_size_unit: string | null;
  idle_slot_timeout: string | null;
  idle_slot_timeout_unit: string | null;
}

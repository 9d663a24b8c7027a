import type { ClientBase } from 'pg';
import { ArchiverV1, MAX_SAMPLE_SLOTS, ReplicationSlotV1, type Archiver, type ReplicationSlot, type Sample } from '@walrus/core';
import { readServerVersion } from './read-sample.js';
import { settingToMb, settingToSeconds } from './units.js';
import { WAL_DISK_SQL, type WalDiskRow } from './wal-disk-query.js';

/** The optional Sample fields about the WAL disk (docs/DISK-SAFETY.md). */
export type WalDiskFields = Pick<
  Sample,
  'pg_wal_bytes' | 'wal_keep_size_mb' | 'replication_slots' | 'replication_slot_count' | 'archiver' | 'max_slot_wal_keep_size_mb' | 'idle_replication_slot_timeout_s'
>;

function count(text: string | null, field: string): number {
  const n = Number(text);
  if (text === null || !Number.isSafeInteger(n) || n < 0) throw new RangeError(`${field} is not a non-negative integer: ${JSON.stringify(text)}`);
  return n;
}

/** PostgreSQL 17 added pg_replication_slots.invalidation_reason and inactive_since. */
const SLOT_REASONS_SINCE = 170000;

function parseSlots(text: string, serverVersionNum: number): ReplicationSlot[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new TypeError('slots is not a JSON array');
  // Byte counts come as JSON numbers (numeric in SQL): exact up to 8 PB, and whole.
  return parsed.map((raw) => ReplicationSlotV1.parse(serverVersionNum >= SLOT_REASONS_SINCE ? raw : without17Columns(raw)));
}

/** Before 17 those columns do not exist (the statement reads them as NULL): left out, so that a slot never seems to say "valid" or "active" where the server cannot tell. */
function without17Columns(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const { invalidation_reason: _reason, inactive_since: _since, ...rest } = raw as Record<string, unknown>;
  return rest;
}

function toArchiver(row: WalDiskRow): Archiver {
  return ArchiverV1.parse({
    mode: row.archive_mode,
    configured: row.archive_configured === 'true',
    archived_count: count(row.archived_count, 'archived_count'),
    failed_count: count(row.failed_count, 'failed_count'),
    last_archived_wal: row.last_archived_wal,
    last_archived_at: row.last_archived_at,
    last_failed_wal: row.last_failed_wal,
    last_failed_at: row.last_failed_at,
    pending_files: row.pending_files === null ? null : count(row.pending_files, 'pending_files'),
  });
}

/**
 * Reads what holds WAL on disk, in one statement (wal-disk-query.ts). Throws
 * what the server says when the role may not (`permission denied for
 * function pg_ls_waldir`: grant pg_monitor): the caller decides whether a
 * sample goes out without these fields. Run it outside an explicit
 * transaction, like the sample.
 */
export async function readWalDisk(client: ClientBase): Promise<WalDiskFields> {
  const version = await readServerVersion(client);
  const { rows } = await client.query<WalDiskRow>(WAL_DISK_SQL, [MAX_SAMPLE_SLOTS]);
  const row = rows[0];
  if (!row) throw new Error('the WAL disk statement returned no row');
  return {
    pg_wal_bytes: count(row.pg_wal_bytes, 'pg_wal_bytes'),
    wal_keep_size_mb: settingToMb(row.wal_keep_size, row.wal_keep_size_unit, 'wal_keep_size'),
    replication_slots: parseSlots(row.slots, version),
    replication_slot_count: count(row.slot_count, 'slot_count'),
    archiver: toArchiver(row),
    max_slot_wal_keep_size_mb: row.max_slot_wal_keep_size === '-1' ? -1 : settingToMb(row.max_slot_wal_keep_size, row.max_slot_wal_keep_size_unit, 'max_slot_wal_keep_size'),
    ...(row.idle_slot_timeout === null ? {} : { idle_replication_slot_timeout_s: settingToSeconds(row.idle_slot_timeout, row.idle_slot_timeout_unit, 'idle_replication_slot_timeout') }),
  };
}

/** `permission denied` (SQLSTATE 42501): the role lacks pg_monitor, a configuration matter rather than an outage. */
export function isPermissionDenied(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '42501';
}

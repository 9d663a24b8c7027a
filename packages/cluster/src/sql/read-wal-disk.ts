import type { ClientBase } from 'pg';
import { ArchiverV1, MAX_SAMPLE_SLOTS, ReplicationSlotV1, type Archiver, type ReplicationSlot, type Sample } from '@walrus/core';
import { settingToMb } from './units.js';
import { WAL_DISK_SQL, type WalDiskRow } from './wal-disk-query.js';

/** The optional Sample fields about the WAL disk (docs/DISK-SAFETY.md). */
export type WalDiskFields = Pick<Sample, 'pg_wal_bytes' | 'wal_keep_size_mb' | 'replication_slots' | 'replication_slot_count' | 'archiver'>;

function count(text: string | null, field: string): number {
  const n = Number(text);
  if (text === null || !Number.isSafeInteger(n) || n < 0) throw new RangeError(`${field} is not a non-negative integer: ${JSON.stringify(text)}`);
  return n;
}

function parseSlots(text: string): ReplicationSlot[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new TypeError('slots is not a JSON array');
  // Byte counts come as JSON numbers (numeric in SQL): exact up to 8 PB, and whole.
  return parsed.map((raw) => ReplicationSlotV1.parse(raw));
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
  const { rows } = await client.query<WalDiskRow>(WAL_DISK_SQL, [MAX_SAMPLE_SLOTS]);
  const row = rows[0];
  if (!row) throw new Error('the WAL disk statement returned no row');
  return {
    pg_wal_bytes: count(row.pg_wal_bytes, 'pg_wal_bytes'),
    wal_keep_size_mb: settingToMb(row.wal_keep_size, row.wal_keep_size_unit, 'wal_keep_size'),
    replication_slots: parseSlots(row.slots),
    replication_slot_count: count(row.slot_count, 'slot_count'),
    archiver: toArchiver(row),
  };
}

/** `permission denied` (SQLSTATE 42501): the role lacks pg_monitor, a configuration matter rather than an outage. */
export function isPermissionDenied(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '42501';
}

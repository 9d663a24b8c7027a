import type { ClientBase } from 'pg';

export interface LiveSetting {
  /** The value in force, in MB (pg_settings' unit for max_wal_size). */
  mb: number;
  /** Where it comes from: `default`, `configuration file`, `command line`, … */
  source: string;
  /** The file that set it, when PostgreSQL tells (superusers and pg_read_all_settings only). */
  sourcefile: string | null;
}

export async function readMaxWalSize(client: ClientBase): Promise<LiveSetting> {
  const { rows } = await client.query<{ setting: string; unit: string; source: string; sourcefile: string | null }>(
    `SELECT setting, unit, source, sourcefile FROM pg_catalog.pg_settings WHERE name = 'max_wal_size'`,
  );
  const row = rows[0];
  if (!row) throw new Error('max_wal_size is missing from pg_settings');
  if (row.unit !== 'MB') throw new Error(`unexpected unit ${row.unit} for max_wal_size`);
  return { mb: Number(row.setting), source: row.source, sourcefile: row.sourcefile };
}

/**
 * Sets max_wal_size through postgresql.auto.conf and asks for a reload. The
 * size is formatted here from a checked integer, never taken as text from a
 * message. ALTER SYSTEM cannot run in a transaction block, so each statement
 * is sent alone.
 */
export async function alterMaxWalSize(client: ClientBase, sizeMb: number): Promise<void> {
  if (!Number.isSafeInteger(sizeMb) || sizeMb < 2 || sizeMb > 2147483647) {
    throw new RangeError(`refusing to set max_wal_size to ${String(sizeMb)} MB`);
  }
  await client.query(`ALTER SYSTEM SET max_wal_size = '${sizeMb.toFixed(0)}MB'`);
  await client.query('SELECT pg_catalog.pg_reload_conf()');
}

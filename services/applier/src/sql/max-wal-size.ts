import type { ClientBase } from 'pg';

export interface LiveSetting {
  /** The value in force, in MB (pg_settings' unit for max_wal_size). */
  mb: number;
  /** Where it comes from: `default`, `configuration file`, `command line`, … */
  source: string;
  /** The file that set it, when PostgreSQL tells (superusers and pg_read_all_settings only). */
  sourcefile: string | null;
}

/** The two settings walrus changes: max_wal_size, and max_slot_wal_keep_size (walrus.bound_slots). Both are MB settings, context sighup. */
export type WalSetting = 'max_wal_size' | 'max_slot_wal_keep_size';

async function readSetting(client: ClientBase, name: WalSetting): Promise<LiveSetting> {
  const { rows } = await client.query<{ setting: string; unit: string; source: string; sourcefile: string | null }>(
    `SELECT setting, unit, source, sourcefile FROM pg_catalog.pg_settings WHERE name = $1`,
    [name],
  );
  const row = rows[0];
  if (!row) throw new Error(`${name} is missing from pg_settings`);
  if (row.unit !== 'MB') throw new Error(`unexpected unit ${row.unit} for ${name}`);
  return { mb: Number(row.setting), source: row.source, sourcefile: row.sourcefile };
}

export const readMaxWalSize = (client: ClientBase): Promise<LiveSetting> => readSetting(client, 'max_wal_size');
/** max_slot_wal_keep_size in MB; -1 = unlimited (the default). */
export const readSlotKeep = (client: ClientBase): Promise<LiveSetting> => readSetting(client, 'max_slot_wal_keep_size');

/**
 * Sets max_wal_size through postgresql.auto.conf and asks for a reload. The
 * size is formatted here from a checked integer, never taken as text from a
 * message. ALTER SYSTEM cannot run in a transaction block, so each statement
 * is sent alone.
 */
export async function alterMaxWalSize(client: ClientBase, sizeMb: number, slotKeepMb?: number): Promise<void> {
  if (!Number.isSafeInteger(sizeMb) || sizeMb < 2 || sizeMb > 2147483647) {
    throw new RangeError(`refusing to set max_wal_size to ${String(sizeMb)} MB`);
  }
  if (slotKeepMb !== undefined) {
    checkSlotKeep(slotKeepMb);
    // Both before one reload: the server never runs with one of them changed alone.
    await client.query(`ALTER SYSTEM SET max_slot_wal_keep_size = '${slotKeepMb.toFixed(0)}MB'`);
  }
  await client.query(`ALTER SYSTEM SET max_wal_size = '${sizeMb.toFixed(0)}MB'`);
  await client.query('SELECT pg_catalog.pg_reload_conf()');
}

/** walrus sets only a bound (0 or more MB), never -1 (unlimited). */
export function checkSlotKeep(mb: number): string {
  if (!Number.isSafeInteger(mb) || mb < 0 || mb > 2147483647) throw new RangeError(`refusing to set max_slot_wal_keep_size to ${String(mb)} MB`);
  return `${mb.toFixed(0)}MB`;
}

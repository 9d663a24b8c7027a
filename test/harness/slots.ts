import { writeWal } from './load.js';
import { waitFor, type PostgresCluster } from './mod.js';

/**
 * A replication slot that PostgreSQL has invalidated (wal_status lost), for
 * tests of what walrus says about one: created reserving WAL, then
 * max_slot_wal_keep_size is lowered to 1 MB for as long as WAL is written
 * and checkpoints run, and reset once the slot is lost (a lost slot stays
 * lost). Needs a superuser connection.
 */
export async function loseSlot(pg: PostgresCluster, name: string): Promise<void> {
  await pg.query('SELECT pg_create_physical_replication_slot($1, true)', [name]);
  await pg.query("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
  await pg.query('SELECT pg_reload_conf()');
  try {
    await waitFor(
      async () => {
        await writeWal(pg, { rounds: 1 });
        await pg.query('SELECT pg_switch_wal()');
        await pg.query('CHECKPOINT');
        const rows = await pg.query<{ s: string | null }>('SELECT wal_status AS s FROM pg_replication_slots WHERE slot_name = $1', [name]);
        return rows[0]?.s === 'lost' ? true : undefined;
      },
      { what: `replication slot ${name} invalidated`, timeoutMs: 60_000 },
    );
  } finally {
    await pg.query('ALTER SYSTEM RESET max_slot_wal_keep_size');
    await pg.query('SELECT pg_reload_conf()');
  }
}

import type { PostgresCluster } from './mod.js';
import { defined } from './defined.js';

/**
 * Writes WAL quickly with plain SQL: each round inserts and then deletes
 * ~10 MB of rows. Enough to force checkpoints past a 32 MB max_wal_size
 * within seconds, without depending on a particular pgbench.
 */
export async function writeWal(pg: PostgresCluster, opts: { rounds: number; database?: string }): Promise<void> {
  const db = opts.database ? { database: opts.database } : {};
  await pg.query("CREATE TABLE IF NOT EXISTS walrus_test_load (id bigserial, pad text)", [], db);
  const client = await pg.connect(db);
  try {
    for (let i = 0; i < opts.rounds; i++) {
      await client.query("INSERT INTO walrus_test_load (pad) SELECT repeat('w', 500) FROM generate_series(1, 20000)");
      await client.query('DELETE FROM walrus_test_load');
    }
  } finally {
    await client.end();
  }
}

/** Requested checkpoints so far, on any version. */
export async function requestedCheckpoints(pg: PostgresCluster): Promise<number> {
  const sql =
    pg.version >= 17
      ? 'SELECT num_requested AS n FROM pg_stat_checkpointer'
      : 'SELECT checkpoints_req AS n FROM pg_stat_bgwriter';
  const rows = await pg.query<{ n: string }>(sql);
  return Number(defined(rows[0]).n);
}

export async function maxWalSizeMb(pg: PostgresCluster): Promise<number> {
  const rows = await pg.query<{ setting: string }>("SELECT setting FROM pg_settings WHERE name = 'max_wal_size'");
  return Number(defined(rows[0]).setting);
}

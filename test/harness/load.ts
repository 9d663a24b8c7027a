import { waitFor, type PostgresCluster } from './mod.js';
import { defined } from './defined.js';

/**
 * Writes WAL quickly with plain SQL: each round inserts and then deletes
 * ~10 MB of rows (20,000 by default). Enough to force checkpoints past a 32 MB max_wal_size
 * within seconds, without depending on a particular pgbench.
 */
export async function writeWal(pg: PostgresCluster, opts: { rounds: number; database?: string; rowsPerRound?: number }): Promise<void> {
  const rows = opts.rowsPerRound ?? 20_000;
  const db = opts.database ? { database: opts.database } : {};
  await pg.query("CREATE TABLE IF NOT EXISTS walrus_test_load (id bigserial, pad text)", [], db);
  const client = await pg.connect(db);
  try {
    for (let i = 0; i < opts.rounds; i++) {
      await client.query("INSERT INTO walrus_test_load (pad) SELECT repeat('w', 500) FROM generate_series(1, $1::int)", [rows]);
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

/**
 * Runs `n` CHECKPOINT commands, then waits until the statistics count them.
 * The checkpointer wakes the waiting backend before it reports its counters
 * (checkpointer.c: `ConditionVariableBroadcast(done_cv)` comes before
 * `pgstat_report_checkpointer()`), so on a busy machine a statistics read
 * right after CHECKPOINT returns can miss the last one.
 */
export async function requestCheckpoints(pg: PostgresCluster, n: number): Promise<void> {
  const before = await requestedCheckpoints(pg);
  for (let i = 0; i < n; i++) await pg.query('CHECKPOINT');
  await waitFor(async () => (await requestedCheckpoints(pg)) >= before + n, { what: `${n} more requested checkpoints in the statistics` });
}

export async function maxWalSizeMb(pg: PostgresCluster): Promise<number> {
  const rows = await pg.query<{ setting: string }>("SELECT setting FROM pg_settings WHERE name = 'max_wal_size'");
  return Number(defined(rows[0]).setting);
}

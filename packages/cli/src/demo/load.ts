import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, ClientBase } from 'pg';
import type { Logger } from '@walrus/runtime';

export interface WriteLoadOptions {
  /** Opens one session per worker (each worker has its own table). */
  connect: () => Promise<Client>;
  workers: number;
  /** Target WAL rate of the whole server, in bytes per second. */
  walBytesPerSec: number;
  log: Logger;
  now?: () => number;
}

export interface WriteLoadStats {
  batches: number;
  errors: number;
  lastError: string | null;
}

// One batch: ~1 MB of rows inserted, then deleted. Each worker vacuums its
// table now and then so that it does not grow while autovacuum naps.
const ROWS_PER_BATCH = 2000;
const VACUUM_EVERY = 25;
const RETRY_MS = 1000;

const WAL_POSITION_SQL = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text AS b";

/**
 * A write load with plain SQL from a few sessions, paced on the server's
 * own WAL position so that WAL grows at about `walBytesPerSec` whatever the
 * machine: fast enough to force checkpoints past a small max_wal_size, slow
 * enough that a max_wal_size walrus can reach lets checkpoints be timed again.
 */
export class WriteLoad {
  readonly stats: WriteLoadStats = { batches: 0, errors: 0, lastError: null };
  private stopping = false;
  /** Ends the workers' waits at once when the load stops. */
  private readonly stopped = new AbortController();
  private readonly clients: Client[] = [];
  private workers: Promise<void>[] = [];
  private startedAtMs = 0;
  private startBytes = 0;
  private writtenBytes = 0;
  private readonly now: () => number;

  private constructor(private readonly opts: WriteLoadOptions) {
    this.now = opts.now ?? Date.now;
  }

  static async start(opts: WriteLoadOptions): Promise<WriteLoad> {
    const load = new WriteLoad(opts);
    try {
      for (let i = 1; i <= opts.workers; i++) {
        const client = await opts.connect();
        load.clients.push(client);
        await client.query(`CREATE TABLE IF NOT EXISTS walrus_demo_load_${i} (id bigint, pad text)`);
      }
      const first = load.clients[0];
      if (!first) throw new Error('the write load needs at least one worker');
      load.startBytes = await walPosition(first);
    } catch (err) {
      await load.stop();
      throw err;
    }
    load.startedAtMs = load.now();
    load.workers = load.clients.map((client, i) => load.work(client, `walrus_demo_load_${i + 1}`));
    return load;
  }

  private async work(client: ClientBase, table: string): Promise<void> {
    let batches = 0;
    while (!this.stopping) {
      const waitMs = this.paceMs();
      if (waitMs > 0) {
        await this.pause(Math.min(waitMs, 1000));
        continue;
      }
      try {
        await client.query(`INSERT INTO ${table} SELECT g, repeat('w', 480) FROM generate_series(1, ${ROWS_PER_BATCH}) g`);
        await client.query(`DELETE FROM ${table}`);
        batches += 1;
        if (batches % VACUUM_EVERY === 0) await client.query(`VACUUM ${table}`);
        this.writtenBytes = Math.max(this.writtenBytes, (await walPosition(client)) - this.startBytes);
        this.stats.batches += 1;
      } catch (err) {
        if (this.stopping) return;
        this.stats.errors += 1;
        this.stats.lastError = err instanceof Error ? err.message : String(err);
        this.opts.log.warn({ err, table }, 'write load: batch failed; retrying');
        await this.pause(RETRY_MS);
      }
    }
  }

  /** How long to wait before the next batch so that the WAL written so far stays on the target rate. */
  private paceMs(): number {
    const allowed = (this.opts.walBytesPerSec * (this.now() - this.startedAtMs)) / 1000;
    return this.writtenBytes <= allowed ? 0 : ((this.writtenBytes - allowed) / this.opts.walBytesPerSec) * 1000;
  }

  /** Waits `ms`, or less when the load stops meanwhile. */
  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stopped.signal }).catch(() => undefined);
  }

  /** Lets the running batches finish, then ends the sessions. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    await Promise.allSettled(this.workers);
    await Promise.allSettled(this.clients.map((c) => c.end()));
  }
}

async function walPosition(client: ClientBase): Promise<number> {
  const { rows } = await client.query<{ b: string }>(WAL_POSITION_SQL);
  const bytes = Number(rows[0]?.b);
  if (!Number.isFinite(bytes)) throw new Error(`pg_current_wal_insert_lsn() gave no byte position (${JSON.stringify(rows[0])})`);
  return bytes;
}

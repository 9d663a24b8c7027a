import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { makeTempDir, registerCleanup } from '@walrus/servers';

/** Debian's pgbench (libpq: multi-host URLs and target_session_attrs work). */
export const DEBIAN_PGBENCH = '/usr/bin/pgbench';

export interface LeaderLoadOptions {
  /** Concurrent pgbench clients, default 2. */
  clients?: number;
  /** Rows updated per transaction (each ~0.5 kB of WAL, more with full-page images), default 1000. */
  rowsPerTx?: number;
  /** Seconds of each pgbench run: a failover ends a run; the next one connects to the new primary. Default 5. */
  runSec?: number;
  /** Transactions per second for the whole run (pgbench --rate), default unthrottled. */
  rate?: number;
  /** The pgbench program, default DEBIAN_PGBENCH. */
  pgbench?: string;
}

export interface LeaderLoad {
  /** Runs that ended, and those that ended with an error (a failover aborts clients). */
  readonly runs: number;
  readonly failedRuns: number;
  /** Transactions committed in the runs that ended. */
  readonly transactions: number;
  stop(): Promise<void>;
}

/** Rows of the load table: small enough to stay in memory, large enough that updates spread over many pages. */
const TABLE_ROWS = 20_000;

/**
 * Creates the load table on the cluster's primary (through `url`, a libpq
 * multi-host URL with target_session_attrs=read-write or a primary's URL).
 */
export async function prepareLeaderLoad(primaryUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: primaryUrl });
  await client.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS walrus_leader_load (id int PRIMARY KEY, n bigint NOT NULL, pad text NOT NULL) WITH (fillfactor = 50)');
    await client.query(
      `INSERT INTO walrus_leader_load SELECT g, 0, repeat('p', 400) FROM generate_series(1, ${TABLE_ROWS}) AS g ON CONFLICT (id) DO NOTHING`,
    );
  } finally {
    await client.end();
  }
}

/**
 * Write load that follows the primary: pgbench runs one after the other
 * against a libpq URL listing every member with
 * `target_session_attrs=read-write`, so each run connects to whichever
 * member is the primary then. A failover aborts the run in progress (and a
 * run started meanwhile finds no writable host and ends at once); the next
 * one writes on the new primary. Every transaction updates `rowsPerTx`
 * rows of a fixed table, so WAL flows steadily without the table growing.
 */
export function startLeaderLoad(url: string, options: LeaderLoadOptions = {}): LeaderLoad {
  const dir = makeTempDir('leader-load-');
  const rows = options.rowsPerTx ?? 1000;
  const script = join(dir, 'update.sql');
  writeFileSync(script, `\\set a random(1, ${TABLE_ROWS - rows})\nUPDATE walrus_leader_load SET n = n + 1 WHERE id BETWEEN :a AND :a + ${rows - 1};\n`);
  let stopped = false;
  let child: ChildProcess | null = null;
  const stats = { runs: 0, failedRuns: 0, transactions: 0 };
  const runOnce = (): Promise<void> =>
    new Promise((resolve) => {
      const args = ['-n', '-c', String(options.clients ?? 2), '-T', String(options.runSec ?? 5), '-f', script];
      if (options.rate !== undefined) args.push('-R', String(options.rate));
      child = spawn(options.pgbench ?? DEBIAN_PGBENCH, [...args, url], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGCONNECT_TIMEOUT: '2' } });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', () => resolve());
      child.on('close', (code) => {
        child = null;
        stats.runs += 1;
        if (code !== 0) stats.failedRuns += 1;
        stats.transactions += Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? 0);
        resolve();
      });
    });
  const loop = (async () => {
    while (!stopped) {
      await runOnce();
      // No writable member (a failover in progress): try again shortly.
      if (!stopped) await sleep(200);
    }
  })();
  const stop = async (): Promise<void> => {
    stopped = true;
    child?.kill('SIGINT');
    await loop;
    rmSync(dir, { recursive: true, force: true });
    unregister();
  };
  const unregister = registerCleanup(stop, { name: `leader load on ${url.replace(/:[^:@/]*@/, ':***@')}` });
  return {
    get runs() {
      return stats.runs;
    },
    get failedRuns() {
      return stats.failedRuns;
    },
    get transactions() {
      return stats.transactions;
    },
    stop,
  };
}

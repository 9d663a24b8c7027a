import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientBase } from 'pg';
import type { PostgresCluster } from '@walrus/servers';
import { LOAD_DATABASE } from './monitor.js';

/** Debian's pgbench (pg_wrapper picks a client); any pgbench 15+ drives PostgreSQL 17 fine. */
export const PGBENCH = process.env['PGBENCH'] ?? '/usr/bin/pgbench';

export interface PgbenchResult {
  tps: number;
  transactions: number;
  /** The tool's own output, command line first: kept with the run's raw results. */
  output: string;
}

function loadEnv(pg: PostgresCluster): NodeJS.ProcessEnv {
  return { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(pg.port), PGUSER: 'postgres', PGDATABASE: LOAD_DATABASE };
}

/** Runs a load tool against the load database; resolves with its output (stdout and stderr) after the command line. */
export function runTool(pg: PostgresCluster, command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: loadEnv(pg), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = `$ ${command} ${args.join(' ')}\n`;
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${out.slice(-2000)}`))));
  });
}

function run(pg: PostgresCluster, args: string[]): Promise<string> {
  return runTool(pg, PGBENCH, args);
}

/** The database the loads run in (LOAD_DATABASE), so that its commit count is theirs alone. */
export async function createLoadDatabase(pg: PostgresCluster): Promise<void> {
  await pg.query(`CREATE DATABASE ${LOAD_DATABASE}`);
}

/** A statement in the load database. */
export async function loadQuery(pg: PostgresCluster, sql: string): Promise<void> {
  await pg.query(sql, [], { database: LOAD_DATABASE });
}


/**
 * pgbench's tables at `scale`. The server runs with autovacuum off
 * (main.ts): an autovacuum of the dead rows one arm left would write its WAL
 * (pruning, freezing, full-page images) into another arm's figures, at a
 * moment that differs from run to run. tablesFresh() vacuums between arms
 * instead.
 */
export async function pgbenchInit(pg: PostgresCluster, scale: number): Promise<void> {
  await run(pg, ['-i', '-q', '-s', String(scale)]);
}

/**
 * Every arm starts from the same tables: history emptied, the dead rows of
 * earlier arms vacuumed away. Without it each arm ran on the bloat of all
 * before it (pgbench runs with -n) and later arms ran slower, which moved
 * WAL per transaction more than sizing does (issue 13's oracle figure).
 */
export async function tablesFresh(pg: PostgresCluster): Promise<void> {
  await loadQuery(pg, 'TRUNCATE pgbench_history');
  // Every table of the load database: pgbench's, sysbench's, the maintenance shapes'.
  await loadQuery(pg, 'VACUUM (ANALYZE)');
}

/**
 * The default TPC-B-like write transaction, `clients` clients for `seconds`;
 * with `rate`, throttled to that many transactions per second in all (pgbench -R).
 */
export async function pgbenchRun(pg: PostgresCluster, clients: number, seconds: number, rate?: number): Promise<PgbenchResult> {
  const args = ['-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(seconds), '-n'];
  if (rate !== undefined) args.push('-R', String(rate));
  const out = await run(pg, args);
  const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]);
  if (!Number.isFinite(tps) || !Number.isFinite(transactions)) throw new Error(`cannot read pgbench output:\n${out}`);
  return { tps, transactions, output: out };
}

/**
 * A manual CHECKPOINT every `everySec` seconds on its own session until
 * `until` settles (a storm of manual checkpoints, as a backup script or an
 * operator might run); resolves with how many ran.
 */
export async function checkpointStorm(client: ClientBase, everySec: number, until: Promise<unknown>): Promise<number> {
  let done = false;
  void until.finally(() => (done = true));
  let count = 0;
  while (!done) {
    const started = Date.now();
    await client.query('CHECKPOINT');
    count++;
    const left = everySec * 1000 - (Date.now() - started);
    if (left > 0 && !done) await Promise.race([sleep(left), until.catch(() => {})]);
  }
  return count;
}

/** max_wal_size set with ALTER SYSTEM and reloaded, then a fresh checkpoint and nothing pending: each arm's starting point. */
export async function resetSize(pg: PostgresCluster, sizeMb: number): Promise<void> {
  await pg.query(`ALTER SYSTEM SET max_wal_size = '${sizeMb}MB'`);
  await pg.query('SELECT pg_reload_conf()');
  await pg.query('CHECKPOINT');
  await sleep(2000);
}

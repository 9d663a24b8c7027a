import { spawn } from 'node:child_process';
import type { PostgresCluster } from '@walrus/test';

/** Debian's pgbench (pg_wrapper picks a client); any pgbench 15+ drives PostgreSQL 17 fine. */
export const PGBENCH = process.env['PGBENCH'] ?? '/usr/bin/pgbench';

export interface PgbenchResult {
  tps: number;
  transactions: number;
}

function pgbenchEnv(pg: PostgresCluster): NodeJS.ProcessEnv {
  return { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(pg.port), PGUSER: 'postgres', PGDATABASE: 'postgres' };
}

function run(pg: PostgresCluster, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PGBENCH, args, { env: pgbenchEnv(pg), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`pgbench ${args.join(' ')} exited ${code}:\n${out.slice(-2000)}`))));
  });
}

export async function pgbenchInit(pg: PostgresCluster, scale: number): Promise<void> {
  await run(pg, ['-i', '-q', '-s', String(scale)]);
}

/** The default TPC-B-like write transaction, `clients` clients for `seconds`. */
export async function pgbenchRun(pg: PostgresCluster, clients: number, seconds: number): Promise<PgbenchResult> {
  const out = await run(pg, ['-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(seconds), '-n']);
  const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]);
  if (!Number.isFinite(tps) || !Number.isFinite(transactions)) throw new Error(`cannot read pgbench output:\n${out}`);
  return { tps, transactions };
}

/**
 * sysbench 1.0 (Debian's `sysbench`) on PostgreSQL: its own OLTP loads,
 * `oltp_write_only` and `oltp_read_write`, as steady shapes beside pgbench,
 * so that sizing is judged on transactions we did not write.
 */
import type { PostgresCluster } from '@walrus/servers';
import { LOAD_DATABASE } from './monitor.js';
import { runTool, type PgbenchResult } from './workload.js';

export const SYSBENCH = process.env['SYSBENCH'] ?? '/usr/bin/sysbench';

export type SysbenchTest = 'oltp_write_only' | 'oltp_read_write';

export interface SysbenchTables {
  tables: number;
  tableSize: number;
}

function common(pg: PostgresCluster, t: SysbenchTables): string[] {
  return [
    '--db-driver=pgsql',
    '--pgsql-host=127.0.0.1',
    `--pgsql-port=${pg.port}`,
    '--pgsql-user=postgres',
    `--pgsql-db=${LOAD_DATABASE}`,
    `--tables=${t.tables}`,
    `--table-size=${t.tableSize}`,
  ];
}

/** sysbench's tables (sbtest1..N), shared by both tests; created once per run. */
export async function sysbenchPrepare(pg: PostgresCluster, t: SysbenchTables): Promise<string> {
  return runTool(pg, SYSBENCH, ['oltp_read_write', ...common(pg, t), 'prepare']);
}

/** One test, `threads` clients for `seconds`, flat out or at `rate` transactions per second in all. */
export async function sysbenchRun(pg: PostgresCluster, test: SysbenchTest, t: SysbenchTables, threads: number, seconds: number, rate?: number): Promise<PgbenchResult> {
  const args = [test, ...common(pg, t), `--threads=${threads}`, `--time=${seconds}`, '--report-interval=0'];
  if (rate !== undefined) args.push(`--rate=${rate}`);
  const out = await runTool(pg, SYSBENCH, [...args, 'run']);
  // "    transactions:                        12345  (411.50 per sec.)"
  const m = /transactions:\s+(\d+)\s+\(([\d.]+) per sec/.exec(out);
  const transactions = Number(m?.[1]);
  const tps = Number(m?.[2]);
  if (!m || !Number.isFinite(tps) || !Number.isFinite(transactions)) throw new Error(`cannot read sysbench output:\n${out}`);
  return { tps, transactions, output: out };
}

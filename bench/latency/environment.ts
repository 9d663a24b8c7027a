import { formatKeyValues } from '@walrus/runtime';
import { availableParallelism, cpus, loadavg, release, type } from 'node:os';
import type { ClientBase } from 'pg';

export interface Environment {
  postgres: string;
  nats: string;
  node: string;
  os: string;
  cores: string;
  loadBefore: string;
  /** 1-minute load average before the run. */
  load1Before: number;
  storage: string;
}

/** What the figures were measured on, printed with them so two runs can be compared. */
export async function describeEnvironment(
  pg: ClientBase,
  natsVersion: string | undefined,
  tempBase: string,
  loadBefore: readonly number[],
): Promise<Environment> {
  const { rows } = await pg.query<{ server_version: string; fsync: string }>(
    "SELECT current_setting('server_version') AS server_version, current_setting('fsync') AS fsync",
  );
  const row = rows[0];
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return {
    postgres: `${row?.server_version ?? '?'} (embedded, 127.0.0.1, fsync=${row?.fsync ?? '?'})`,
    nats: `nats-server ${natsVersion ?? '?'} (127.0.0.1, JetStream file storage)`,
    node: process.version,
    os: `${type()} ${release()}`,
    cores: `${availableParallelism()} x ${model}`,
    loadBefore: formatLoad(loadBefore),
    load1Before: loadBefore[0] ?? 0,
    storage: `${tempBase}${tempBase === '/dev/shm' ? ' (tmpfs: no disk in the path)' : ''}`,
  };
}

export function formatLoad(load: readonly number[] = loadavg()): string {
  return load.map((l) => l.toFixed(2)).join(' ');
}

/** Printed last: other work on the machine shows here, and in the tails. */
export function formatEnvironment(e: Environment, loadAfter: string = formatLoad()): string {
  const rows: Array<[string, string]> = [
    ['PostgreSQL', e.postgres],
    ['NATS', e.nats],
    ['Node.js', e.node],
    ['OS', e.os],
    ['cores', e.cores],
    ['load avg', `${e.loadBefore} before, ${loadAfter} after (1/5/15 min; the machine's other work shows here)`],
    ['data dirs', e.storage],
  ];
  return formatKeyValues(rows);
}

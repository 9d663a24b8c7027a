import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, makeTempDir, postgresRunAs, registerCleanup, waitFor } from '@walrus/servers';
import pg from 'pg';

/** Debian's pgbouncer (test/system-packages.txt). */
export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';

export interface Bouncer {
  port: number;
  /** The database name that reaches server `i` (db0, db1, …). */
  database(i: number): string;
  stop(): Promise<void>;
}

/**
 * PgBouncer in front of a few real PostgreSQL servers, in transaction
 * pooling: tens of thousands of client connections (one per cluster entry,
 * as the collector keeps them) served by a few server backends, so that
 * 10,000 cluster entries cost the servers a few backends, not 10,000.
 * Every statement still runs on a real PostgreSQL; what is not measured is
 * a server's cost of holding 10,000 backends. statement_timeout, a startup
 * parameter of node-postgres, is ignored by PgBouncer (the collector's own
 * query timeout is then not enforced on these connections).
 */
export async function startPgBouncer(servers: ReadonlyArray<{ port: number }>, maxClients: number): Promise<Bouncer> {
  const runAs = postgresRunAs();
  const dir = makeTempDir('fleet-pgbouncer-', runAs);
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    [
      '[databases]',
      ...servers.map((s, i) => `db${i} = host=127.0.0.1 port=${s.port} dbname=postgres user=postgres`),
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      "unix_socket_dir = ''",
      'auth_type = any',
      'pool_mode = transaction',
      'default_pool_size = 8',
      `max_client_conn = ${maxClients}`,
      'ignore_startup_parameters = statement_timeout,extra_float_digits,options',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
  );
  const out = openSync(join(dir, 'stdout.log'), 'a');
  // A file descriptor per client: raise the limit for this process only.
  const child: ChildProcess = spawn('/bin/sh', ['-c', `ulimit -n ${maxClients + 1000} && exec ${PGBOUNCER_BIN} ${ini}`], {
    stdio: ['ignore', out, out],
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    await exited;
  };
  registerCleanup(stop, { name: `pgbouncer on ${port}`, sync: () => child.kill('SIGKILL') });
  await waitFor(
    async () => {
      const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'db0' });
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.query('SELECT 1');
        return true;
      } catch {
        return null;
      } finally {
        await c.end().catch(() => undefined);
      }
    },
    { what: 'pgbouncer accepting connections', timeoutMs: 30_000, intervalMs: 200 },
  );
  return { port, database: (i) => `db${i % servers.length}`, stop };
}

import { execFile as execFileCb } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { appendFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { registerCleanup } from './cleanup.js';
import { pgBinary, pgServerEnv, type PgVersion } from './pg-install.js';
import { template } from './pg-template.js';
import { freePort } from './ports.js';
import { describeExit, killTree, killTreeSync, logTail, processGone, spawnLogged, waitExitOrKill, type Spawned } from './process.js';
import { postgresRunAs, type RunAs } from './run-as.js';
import { dropStaleShmem } from './shmem.js';
import { makeTempDir } from './temp.js';
import { waitFor } from './wait.js';

const execFile = promisify(execFileCb);

export type SettingValue = string | number | boolean;

export interface PostgresOptions {
  version: PgVersion;
  /**
   * Settings appended to postgresql.conf (never the command line: a value
   * given there defeats ALTER SYSTEM). Values are written quoted, e.g.
   * `{ max_wal_size: '32MB', checkpoint_timeout: '30s' }`.
   */
  config?: Readonly<Record<string, SettingValue>>;
  /** Extra `postgres` command-line arguments (beware: `-c name=value` defeats ALTER SYSTEM for that name). */
  args?: readonly string[];
  /** Start timeout (also for restart and crash recovery), default 60 s. */
  timeoutMs?: number;
}

export interface QueryOptions {
  database?: string;
  user?: string;
}

export interface PostgresCluster {
  readonly version: PgVersion;
  readonly port: number;
  /** The cluster's own directory: data directory, socket, log. */
  readonly baseDir: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  urlFor(database: string, user?: string): string;
  /** The postmaster's pid while running. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Runs one statement in a new session (so it sees ALTER DATABASE / ROLE settings made before); returns the rows. */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<R[]>;
  /**
   * A connected client, ended by stop()/kill()/cleanup(). It has an 'error'
   * listener already: a server that goes away does not crash this
   * process; the client's next query fails instead.
   */
  connect(options?: QueryOptions): Promise<pg.Client>;
  /** Fast shutdown (SIGINT: shutdown checkpoint, clients disconnected); resolves when the postmaster has exited. */
  stop(): Promise<void>;
  /** A crash: SIGKILL of the postmaster and all its children; the next start runs crash recovery. */
  kill(): Promise<void>;
  /** Starts again (fast shutdown first if running): same port, same data directory; resolves when it accepts connections. */
  restart(): Promise<void>;
  /** Immediate shutdown and removal of its directory. Idempotent. */
  cleanup(): Promise<void>;
  /** The server log so far. */
  log(): Promise<string>;
}

function quote(value: SettingValue): string {
  return `'${String(value).replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

function confLines(settings: Readonly<Record<string, SettingValue>>): string {
  return Object.entries(settings)
    .map(([name, value]) => `${name} = ${quote(value)}`)
    .join('\n');
}

/** What a cluster is made of; shared with standby.ts. */
export interface Instance {
  version: PgVersion;
  baseDir: string;
  dataDir: string;
  logFile: string;
  runAs: RunAs | null;
  args: readonly string[];
  timeoutMs: number;
  port: number;
}

/** Copies a data directory from a template, then appends this cluster's settings. */
async function prepareDataDir(inst: Instance, settings: Readonly<Record<string, SettingValue>>): Promise<void> {
  await execFile('cp', ['-a', await template(inst.version), inst.dataDir]);
  await writeConf(inst, settings);
}

export async function writeConf(inst: Instance, settings: Readonly<Record<string, SettingValue>>): Promise<void> {
  // Later lines win in postgresql.conf, so appending is enough.
  await appendFile(join(inst.dataDir, 'postgresql.conf'), `\n# @walrus/servers\n${confLines(settings)}\n`);
}

export function baseSettings(inst: Instance): Record<string, SettingValue> {
  return {
    listen_addresses: '127.0.0.1',
    port: inst.port,
    unix_socket_directories: inst.baseDir,
    fsync: 'off',
    shared_buffers: '32MB',
    logging_collector: 'off',
    // DSM segments as files in the data directory (pg_dynshmem), not in
    // /dev/shm: a crashed cluster that is never restarted leaks nothing.
    dynamic_shared_memory_type: 'mmap',
  };
}

/** Status line of postmaster.pid: "starting", "ready", "stopping" or "standby". */
function pidFileStatus(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[7]?.trim();
  } catch {
    return undefined;
  }
}

/** Runs one statement in a new session (which sees ALTER DATABASE / ROLE settings made before) and ends it; returns the rows. */
export async function queryOnce<R extends pg.QueryResultRow = Record<string, unknown>>(config: pg.ClientConfig, sql: string, params: readonly unknown[] = []): Promise<R[]> {
  const client = new pg.Client(config);
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(sql, [...params])).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function urlFor(port: number, database: string, user = 'postgres'): string {
  return `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

export class ClusterImpl implements PostgresCluster {
  private proc: Spawned | undefined;
  private removed = false;
  private readonly clients = new Set<pg.Client>();
  private readonly unregister: () => void;

  constructor(protected readonly inst: Instance) {
    this.unregister = registerCleanup(() => this.cleanup(), {
      name: `PostgreSQL ${inst.version} in ${inst.baseDir}`,
      sync: () => {
        const proc = this.proc;
        if (proc && !proc.exit && !processGone(proc.pid)) killTreeSync(proc.pid);
        dropStaleShmem(inst.dataDir);
        rmSync(inst.baseDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      },
    });
  }

  get version(): PgVersion {
    return this.inst.version;
  }
  get port(): number {
    return this.inst.port;
  }
  get baseDir(): string {
    return this.inst.baseDir;
  }
  get dataDir(): string {
    return this.inst.dataDir;
  }
  get logFile(): string {
    return this.inst.logFile;
  }
  get url(): string {
    return urlFor(this.inst.port, 'postgres');
  }
  urlFor(database: string, user?: string): string {
    return urlFor(this.inst.port, database, user);
  }
  get running(): boolean {
    return this.proc !== undefined && this.proc.exit === undefined;
  }
  get pid(): number | undefined {
    return this.running ? this.proc?.pid : undefined;
  }

  async start(): Promise<void> {
    if (this.removed) throw new Error(`PostgreSQL ${this.version}: start after cleanup()`);
    if (this.running) return;
    const { version, dataDir, logFile, runAs, timeoutMs } = this.inst;
    const proc = spawnLogged(await pgBinary(version, 'postgres'), ['-D', dataDir, ...this.inst.args], {
      logFile,
      env: await pgServerEnv(version),
      runAs,
      cwd: this.inst.baseDir,
    });
    this.proc = proc;
    const died = new AbortController();
    void proc.exited.then((exit) => died.abort(new Error(`postgres ${describeExit(exit)}`)));
    try {
      // postmaster.pid's status line says "ready" once connections are
      // accepted (also on a hot standby); then prove it with a real session.
      await waitFor(() => pidFileStatus(dataDir) === 'ready', {
        what: `PostgreSQL ${version} on port ${this.port} to be ready`,
        timeoutMs,
        intervalMs: 25,
        signal: died.signal,
      });
      await waitFor(async () => (await this.query('SELECT 1 AS ok'))[0]?.['ok'] === 1, {
        what: `a first session on PostgreSQL ${version} port ${this.port}`,
        timeoutMs,
        intervalMs: 50,
        signal: died.signal,
      });
    } catch (err) {
      if (!proc.exit) await killTree(proc.pid).catch(() => undefined);
      throw new Error(`PostgreSQL ${version} did not start: ${err instanceof Error ? err.message : String(err)}\n${await logTail(logFile)}`, { cause: err });
    }
  }

  async query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<R[]> {
    return queryOnce<R>({ connectionString: this.urlFor(options.database ?? 'postgres', options.user) }, sql, params);
  }

  async connect(options: QueryOptions = {}): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.urlFor(options.database ?? 'postgres', options.user) });
    client.on('error', () => undefined);
    await client.connect();
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    return client;
  }

  private async endClients(): Promise<void> {
    const clients = [...this.clients];
    this.clients.clear();
    await Promise.allSettled(clients.map((c) => c.end()));
  }

  async stop(): Promise<void> {
    await this.endClients();
    const proc = this.proc;
    if (!proc || proc.exit) return;
    proc.child.kill('SIGINT');
    await waitExitOrKill(proc, 60_000);
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    if (proc && !proc.exit) {
      await killTree(proc.pid);
      await proc.exited;
    }
    await this.endClients();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async cleanup(): Promise<void> {
    this.unregister();
    if (this.removed) return;
    this.removed = true;
    await this.endClients();
    const proc = this.proc;
    if (proc && !proc.exit) {
      // Immediate shutdown: the data goes away anyway.
      proc.child.kill('SIGQUIT');
      await waitExitOrKill(proc, 10_000);
    }
    dropStaleShmem(this.inst.dataDir);
    await rm(this.inst.baseDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }

  log(): Promise<string> {
    return readFile(this.inst.logFile, 'utf8');
  }
}

function isPortInUse(err: unknown): boolean {
  return err instanceof Error && /could not bind IPv4 address|Address already in use|could not create any TCP\/IP sockets/.test(err.message);
}

export async function newInstance(version: PgVersion, prefix: string, args: readonly string[] = [], timeoutMs = 60_000): Promise<Instance> {
  const runAs = postgresRunAs();
  const baseDir = makeTempDir(prefix, runAs);
  return { version, baseDir, dataDir: join(baseDir, 'data'), logFile: join(baseDir, 'postgres.log'), runAs, args, timeoutMs, port: await freePort() };
}

/** initdb (from a per-version template) and start a cluster on a free 127.0.0.1 port. */
export async function startPostgres(options: PostgresOptions): Promise<PostgresCluster> {
  const inst = await newInstance(options.version, `pg${options.version}-`, options.args, options.timeoutMs);
  await prepareDataDir(inst, { ...baseSettings(inst), ...options.config });
  const cluster = new ClusterImpl(inst);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await cluster.start();
        return cluster;
      } catch (err) {
        // Someone took the port between freePort() and bind(): take another.
        if (!isPortInUse(err) || attempt >= 3) throw err;
        inst.port = await freePort();
        await writeConf(inst, { port: inst.port });
      }
    }
  } catch (err) {
    await cluster.cleanup();
    throw err;
  }
}


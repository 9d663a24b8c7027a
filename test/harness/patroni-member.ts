// The harness's choices (temporary directories named walrus-test-*, cleanup on signals) before anything starts.
import './mod.js';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type pg from 'pg';
import {
  childrenOf,
  dropStaleShmem,
  killTree,
  killTreeSync,
  logTail,
  processGone,
  queryOnce,
  registerCleanup,
  spawnLogged,
  waitExitOrKill,
  type RunAs,
  type Spawned,
} from '@walrus/servers';
import { defined } from './defined.js';

export const PATRONI_BIN = '/usr/bin/patroni';
const UNSHARE_BIN = '/usr/bin/unshare';
const SETPRIV_BIN = '/usr/bin/setpriv';

export type Role = 'superuser' | 'walrus';

export interface MemberPaths {
  dir: string;
  dataDir: string;
  configFile: string;
  patroniLogFile: string;
  postgresLogFile: string;
}

export interface MemberInit extends MemberPaths {
  name: string;
  pgPort: number;
  apiPort: number;
  runAs: RunAs | null;
  credentials: Record<Role, { username: string; password: string }>;
  restapi: { username: string; password: string };
}

/**
 * One Patroni member of the harness: a Patroni process and the PostgreSQL it
 * starts. The postmaster is not Patroni's child (Patroni starts it through a
 * helper process that exits, like pg_ctl), so the parent-death signal alone
 * would leave it running when the tests are SIGKILLed. As root each member
 * therefore runs in its own PID namespace (`unshare --pid --fork
 * --kill-child`): Patroni is the namespace's init and the postmaster is
 * reparented to it; when init dies the kernel kills everything in the
 * namespace. Chain: test process dies -> unshare (pdeathsig) -> Patroni
 * (unshare's --kill-child, then setpriv's --pdeathsig, set again after the
 * switch to the postgres user, which clears it) -> the namespace. Without
 * root there is no namespace: the exit handlers kill the postmaster by its
 * postmaster.pid; only a SIGKILL of the tests then leaves it running.
 */
export class PatroniMember {
  readonly host = '127.0.0.1';
  private proc: Spawned | undefined;
  private removed = false;
  private readonly unregister: () => void;

  constructor(private readonly init: MemberInit) {
    this.unregister = registerCleanup(() => this.cleanup(), {
      name: `Patroni member ${init.name} in ${init.dir}`,
      sync: () => {
        this.killSync();
        rmSync(init.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      },
    });
  }

  get name(): string {
    return this.init.name;
  }
  /** PostgreSQL's port. */
  get port(): number {
    return this.init.pgPort;
  }
  /** Patroni's REST API: http://127.0.0.1:PORT */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.init.apiPort}`;
  }
  /** The least-privilege `walrus` role (pg_monitor, ALTER SYSTEM on max_wal_size, pg_reload_conf). */
  get url(): string {
    return this.urlAs('walrus');
  }
  /** The superuser, for the test itself. */
  get superuserUrl(): string {
    return this.urlAs('superuser');
  }
  urlAs(role: Role, database = 'postgres'): string {
    const c = this.init.credentials[role];
    return `postgres://${encodeURIComponent(c.username)}:${encodeURIComponent(c.password)}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }
  get dir(): string {
    return this.init.dir;
  }
  get dataDir(): string {
    return this.init.dataDir;
  }
  get configFile(): string {
    return this.init.configFile;
  }
  get patroniLogFile(): string {
    return this.init.patroniLogFile;
  }
  get postgresLogFile(): string {
    return this.init.postgresLogFile;
  }
  /** True while this member's Patroni process runs (its PostgreSQL may be down). */
  get running(): boolean {
    return this.proc !== undefined && this.proc.exit === undefined;
  }
  /** Resolves when the running Patroni process exits (at once when not running). */
  get exited(): Promise<unknown> {
    return this.proc?.exited ?? Promise.resolve();
  }

  /** Starts Patroni (same configuration, ports and data directory as before); does not wait for PostgreSQL. */
  start(): void {
    if (this.removed) throw new Error(`Patroni member ${this.name}: start after cleanup()`);
    if (this.running) return;
    const env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: this.dir,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TZ: 'UTC',
      PYTHONUNBUFFERED: '1',
    };
    const runAs = this.init.runAs;
    const patroni = [PATRONI_BIN, this.configFile];
    const [command, ...args] = runAs
      ? [
          UNSHARE_BIN, '--pid', '--mount', '--fork', '--mount-proc', '--kill-child=SIGKILL', '--',
          SETPRIV_BIN, `--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups', '--pdeathsig', 'SIGKILL', '--',
          ...patroni,
        ]
      : patroni;
    this.proc = spawnLogged(defined(command), args, { logFile: this.patroniLogFile, env, cwd: this.dir });
  }

  /**
   * Patroni's process as the machine sees it: with a namespace, the
   * namespace's init (unshare's only child), else the spawned process.
   */
  private patroniPid(): number | undefined {
    const proc = this.proc;
    if (!proc || proc.exit) return undefined;
    if (!this.init.runAs) return proc.pid;
    return childrenOf(proc.pid)[0];
  }

  /**
   * The postmaster's pid as this process sees it, from postmaster.pid (which
   * holds the pid inside the member's namespace), or undefined when it does
   * not run.
   */
  postmasterPid(): number | undefined {
    let inner: number;
    try {
      inner = Number(readFileSync(`${this.dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
    if (!Number.isInteger(inner) || inner <= 0) return undefined;
    if (!this.init.runAs) return processGone(inner) ? undefined : inner;
    const init = this.patroniPid();
    if (init === undefined) return undefined;
    const pid = hostPidOf(init, inner);
    return pid !== undefined && isPostmasterOf(pid, this.dataDir) ? pid : undefined;
  }

  /** SIGKILL of the postmaster only (Patroni keeps running); returns its pid. */
  killPostmaster(): number {
    const pid = this.postmasterPid();
    if (pid === undefined) throw new Error(`Patroni member ${this.name}: no postmaster running`);
    process.kill(pid, 'SIGKILL');
    return pid;
  }

  /**
   * SIGTERM to Patroni: it stops its PostgreSQL (fast shutdown) and, if it
   * leads, deletes the leader key so that a replica takes over at once.
   * Resolves when Patroni has exited (SIGKILL after 60 s).
   */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exit) return;
    const pid = this.patroniPid();
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
    else proc.child.kill('SIGKILL');
    await waitExitOrKill(proc, 60_000);
    this.afterExit();
  }

  /**
   * SIGKILL of Patroni and its PostgreSQL at once, like a crashed host: the
   * leader key (if held) stays in etcd until its ttl runs out.
   */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (proc && !proc.exit) {
      const postmaster = this.init.runAs ? undefined : this.postmasterPid();
      await killTree(proc.pid);
      await proc.exited;
      if (postmaster !== undefined) await killTree(postmaster);
    }
    this.afterExit();
  }

  private killSync(): void {
    const proc = this.proc;
    if (proc && !proc.exit && !processGone(proc.pid)) {
      const postmaster = this.init.runAs ? undefined : this.postmasterPid();
      killTreeSync(proc.pid);
      if (postmaster !== undefined) killTreeSync(postmaster);
    }
    this.afterExit();
  }

  /** After a crash the postmaster's SysV segment stays; drop it (a restart would reuse it, a removal must not leak it). */
  private afterExit(): void {
    dropStaleShmem(this.dataDir);
  }

  /** Runs one statement in a new session as `role` (default the superuser). */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], role: Role = 'superuser'): Promise<R[]> {
    return queryOnce<R>({ connectionString: this.urlAs(role), connectionTimeoutMillis: 5_000 }, sql, params);
  }

  /** A request to this member's REST API with `restapi.authentication`. */
  async api(path: string, init: { method?: string; body?: unknown; timeoutMs?: number } = {}): Promise<Response> {
    const { username, password } = this.init.restapi;
    return fetch(`${this.apiUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
    });
  }

  /** The tails of this member's Patroni and PostgreSQL logs. */
  async logs(lines = 60): Promise<string> {
    return [
      `--- ${this.name}: Patroni (${this.patroniLogFile})`,
      await logTail(this.patroniLogFile, lines),
      `--- ${this.name}: PostgreSQL (${this.postgresLogFile})`,
      await logTail(this.postgresLogFile, lines),
    ].join('\n');
  }

  patroniLog(): Promise<string> {
    return readFile(this.patroniLogFile, 'utf8');
  }

  /** Kills everything of this member and removes its directory. Idempotent. */
  async cleanup(): Promise<void> {
    this.unregister();
    if (this.removed) return;
    this.removed = true;
    await this.kill();
    await rm(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

/** The pid, as this process sees it, of the process `inner` in the PID namespace whose init is `init`. */
function hostPidOf(init: number, inner: number): number | undefined {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${init}/ns/pid`);
  } catch {
    return undefined;
  }
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) !== ns) continue;
      const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1]?.trim().split(/\s+/);
      if (nspid && Number(nspid[nspid.length - 1]) === inner) return Number(name);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

function isPostmasterOf(pid: number, dataDir: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(dataDir) && /postgres$/.test(argv[0] ?? '');
  } catch {
    return false;
  }
}

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, chownSync, closeSync, constants, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { registerCleanup } from './cleanup.js';
import { serversOptions } from './options.js';

/** An OS identity to run a server as. */
export interface RunAs {
  uid: number;
  gid: number;
}

let postgresUser: RunAs | null | undefined;

/**
 * PostgreSQL refuses to run as root. When this process runs as root, initdb
 * and postgres run as the `postgres` OS user instead; otherwise as ourselves (null).
 */
export function postgresRunAs(): RunAs | null {
  if (postgresUser !== undefined) return postgresUser;
  if (process.getuid?.() !== 0) {
    postgresUser = null;
    return postgresUser;
  }
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    postgresUser = { uid, gid };
    return postgresUser;
  } catch (err) {
    throw new Error('running as root, and PostgreSQL refuses root: an OS user named "postgres" is needed to run it as', { cause: err });
  }
}

const TMPFS_MAGIC = 0x01021994;
const TMPFS_MIN_FREE_BYTES = 2 * 1024 ** 3;

/**
 * Where temp roots go: the configured `tempBase` when set; else /dev/shm when
 * it is a writable tmpfs with 2 GiB free (a cluster is a 39 MB copy plus its
 * WAL: on a slow disk, copying and writing it dominated the tests, ~2.5x
 * slower); else the OS temp directory.
 */
export function tempBase(): string {
  const configured = serversOptions().tempBase;
  if (configured) return configured;
  try {
    accessSync('/dev/shm', constants.W_OK | constants.X_OK);
    const fs = statfsSync('/dev/shm');
    if (fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize >= TMPFS_MIN_FREE_BYTES) return '/dev/shm';
  } catch {
    // No usable /dev/shm.
  }
  return tmpdir();
}

let root: string | undefined;
const OWNER_FILE = 'owner.pid';

/**
 * This process's temporary root, <tempBase()>/<tempPrefix>XXXXXX, removed by
 * the cleanup registry after everything in it has stopped. Mode 0711 so that
 * the postgres OS user can reach its own subdirectories.
 */
export function tempRoot(): string {
  if (root !== undefined) return root;
  const dir = mkdtempSync(join(tempBase(), serversOptions().tempPrefix));
  chmodSync(dir, 0o711);
  // Who owns it: removeStaleTempRoots() removes the roots of processes that are gone.
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  root = dir;
  const remove = (): void => {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    if (root === dir) root = undefined;
  };
  registerCleanup(remove, { name: `remove ${dir}`, sync: remove });
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a running process's command line names something under `dir` (a server's data directory, log, store). */
function inUse(dir: string): boolean {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(dir)) return true;
    } catch {
      // Gone meanwhile.
    }
  }
  return false;
}

/**
 * Removes what SIGKILLed runs left behind under `bases`: temp roots named
 * <prefix>* whose owner process is gone and that no running process uses
 * (a root without an owner file counts once it is an hour old). In /dev/shm
 * they hold memory: a few killed runs with their PostgreSQL data and WAL
 * can take gigabytes from the machine the next run needs. Returns the roots
 * removed.
 */
export function removeStaleTempRoots(prefix: string, bases: readonly string[] = ['/dev/shm', tmpdir()]): string[] {
  const removed: string[] = [];
  for (const base of new Set(bases)) {
    let names: string[];
    try {
      names = readdirSync(base).filter((n) => n.startsWith(prefix));
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = join(base, name);
      if (dir === root) continue;
      try {
        const owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8').trim());
        if (Number.isInteger(owner) && owner > 0 && alive(owner)) continue;
      } catch {
        try {
          if (Date.now() - statSync(dir).mtimeMs < 3600_000) continue;
        } catch {
          continue;
        }
      }
      if (inUse(dir)) continue;
      // A killed postmaster's SysV segment stays until removed by id.
      try {
        for (const sub of readdirSync(dir)) dropStaleShmemOf(join(dir, sub, 'data'));
      } catch {
        // Not readable: removed below all the same.
      }
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      removed.push(dir);
    }
  }
  return removed;
}

function dropStaleShmemOf(dataDir: string): void {
  try {
    const shmid = (readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[6] ?? '').trim().split(/\s+/)[1];
    if (shmid && /^\d+$/.test(shmid)) execFileSync('ipcrm', ['-m', shmid], { stdio: 'ignore' });
  } catch {
    // No pid file, or the segment is gone already.
  }
}

/** A fresh directory under the temp root, owned by `owner` when given (mode 0700). */
export function makeTempDir(prefix: string, owner: RunAs | null = null): string {
  const dir = mkdtempSync(join(tempRoot(), prefix));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return dir;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** Settles when the process has exited (never rejects). */
  exited: Promise<Exit>;
  /** Set once exited. */
  exit: Exit | undefined;
}

const SETPRIV = '/usr/bin/setpriv';
let setprivAvailable: boolean | undefined;

/**
 * The command line that runs `command` so that it is SIGKILLed when the
 * process that started it dies, even by SIGKILL (a test worker killed on a
 * timeout): util-linux's setpriv sets the parent-death signal and execs the
 * command, which keeps the same pid. Without setpriv the command runs as it is
 * (the exit handlers still stop it on a normal exit).
 */
export function diesWithParent(command: string, args: readonly string[]): { command: string; args: string[] } {
  if (setprivAvailable === undefined) {
    try {
      accessSync(SETPRIV, constants.X_OK);
      setprivAvailable = true;
    } catch {
      setprivAvailable = false;
    }
  }
  return setprivAvailable ? { command: SETPRIV, args: ['--pdeathsig', 'SIGKILL', '--', command, ...args] } : { command, args: [...args] };
}

/**
 * Spawns a server with stdout and stderr appended to `logFile`, in its own
 * process group only when `ownProcessGroup` is configured (see there).
 */
export function spawnLogged(
  command: string,
  args: readonly string[],
  options: { logFile: string; env?: NodeJS.ProcessEnv; runAs?: RunAs | null; cwd?: string },
): Spawned {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  const cmd = diesWithParent(command, args);
  try {
    child = spawn(cmd.command, cmd.args, {
      stdio: ['ignore', fd, fd],
      env: options.env ?? process.env,
      cwd: options.cwd,
      detached: serversOptions().ownProcessGroup,
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    });
  } finally {
    closeSync(fd);
  }
  const spawned: Spawned = {
    child,
    pid: child.pid ?? -1,
    exit: undefined,
    exited: new Promise<Exit>((resolve) => {
      child.once('error', (error) => {
        spawned.exit = { code: null, signal: null, error };
        resolve(spawned.exit);
      });
      child.once('exit', (code, signal) => {
        spawned.exit = { code, signal };
        resolve(spawned.exit);
      });
    }),
  };
  return spawned;
}

export function describeExit(exit: Exit): string {
  if (exit.error) return `could not start: ${exit.error.message}`;
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${String(exit.code)}`;
}

/** The last `lines` lines of a log file, for error messages. */
export async function logTail(file: string, lines = 30): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}

function statOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '', ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** True when the process no longer runs (gone, or a zombie nobody reaped yet). */
export function processGone(pid: number): boolean {
  const stat = statOf(pid);
  return stat === undefined || stat.state === 'Z' || stat.state === 'X';
}

/** Direct children of `pid` (PostgreSQL's postmaster children call setsid(), so process groups do not find them). */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const child = Number(name);
    if (statOf(child)?.ppid === pid) children.push(child);
  }
  return children;
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * The process and its direct children, with the parent frozen first (SIGSTOP)
 * so that it cannot fork a child between the snapshot and the kill.
 */
function freezeTree(pid: number): number[] {
  signalQuietly(pid, 'SIGSTOP');
  return [pid, ...childrenOf(pid)];
}

/** SIGKILLs a process and its direct children, and waits until all are gone. */
export async function killTree(pid: number, timeoutMs = 10_000): Promise<void> {
  const pids = freezeTree(pid);
  for (const p of pids) signalQuietly(p, 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  while (!pids.every(processGone)) {
    if (Date.now() > deadline) throw new Error(`processes ${pids.filter((p) => !processGone(p)).join(', ')} survived SIGKILL`);
    await sleep(20);
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** killTree for process exit handlers, where nothing asynchronous runs. */
export function killTreeSync(pid: number, timeoutMs = 3_000): void {
  const pids = freezeTree(pid);
  for (const p of pids) signalQuietly(p, 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  while (!pids.every(processGone) && Date.now() < deadline) sleepSync(20);
}

/** Waits for `spawned` to exit; after `timeoutMs`, SIGKILLs it and its children. */
export async function waitExitOrKill(spawned: Spawned, timeoutMs: number): Promise<Exit> {
  // Aborted once the process exits, so that no timer outlives the wait.
  const exited = new AbortController();
  const timedOut = sleep(timeoutMs, 'timeout' as const, { signal: exited.signal }).catch(() => spawned.exited);
  const first = await Promise.race([spawned.exited, timedOut]);
  exited.abort();
  if (first !== 'timeout') return first;
  await killTree(spawned.pid);
  return spawned.exited;
}

/** Sends `signal` to a running process and waits for its exit (SIGKILL of it and its children after `timeoutMs`); nothing when it does not run. */
export async function stopProcess(proc: Spawned | undefined, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (!proc || proc.exit) return;
  proc.child.kill(signal);
  await waitExitOrKill(proc, timeoutMs);
}

/** SIGKILL of a running process and its children; resolves when it has exited. Nothing when it does not run. */
export async function killProcess(proc: Spawned | undefined): Promise<void> {
  if (!proc || proc.exit) return;
  await killTree(proc.pid);
  await proc.exited;
}

/**
 * Registers a server that runs in its own directory with the cleanup
 * registry: `cleanup` when everything is cleaned up, and in exit handlers a
 * SIGKILL of its current process (`current()`) and the directory's removal.
 * Returns the unregister function.
 */
export function registerServerCleanup(name: string, dir: string, current: () => Spawned | undefined, cleanup: () => Promise<void>): () => void {
  return registerCleanup(cleanup, {
    name,
    sync: () => {
      const proc = current();
      if (proc && !proc.exit && !processGone(proc.pid)) killTreeSync(proc.pid);
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { registerCleanup } from './cleanup.js';
import { serversOptions } from './options.js';
import type { RunAs } from './run-as.js';

/*
 * Process control for the servers: spawning with a log file (and, as root, as
 * another user), dying with the parent, stopping and killing a process with
 * its children.
 */

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

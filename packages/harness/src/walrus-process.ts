import { spawn, type ChildProcess } from 'node:child_process';
import { WALRUS_BIN, WALRUS_NODE_ARGS } from '@walrus/cli/launch';
import { diesWithParent } from '@walrus/servers';
import { WAIT_DEFAULT_MS } from './deadline.js';
import type { OnLogSource } from './log-source.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A `walrus <command>` process with its JSON log lines collected. */
export interface WalrusProcess {
  proc: ChildProcess;
  lines: LogLine[];
  stdout(): string;
  stderr(): string;
  /**
   * Resolves with the first log line that matches; throws when the process
   * exits first, or after the timeout (default WAIT_DEFAULT_MS), naming what
   * it waited for.
   */
  waitForLog(match: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** The same for text on stderr (the CLI commands' progress lines). */
  waitForStderr(text: string, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM and wait; SIGKILL after the timeout. */
  stop(timeoutMs?: number): Promise<number | string>;
}

export interface WalrusProcessOptions {
  /** Arguments of node itself, before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: readonly string[];
  /** Told about its stdout and stderr (the tests print them when a test fails). */
  onLogSource?: OnLogSource;
}

const running = new Set<ChildProcess>();
let exitHook = false;

/**
 * Starts `walrus <args>` with only PATH, HOME, debug logging and metrics on a
 * free loopback port from this environment, then `env`. It dies with this
 * process, even when this one is SIGKILLed (no orphans).
 */
export function startWalrus(args: string[], env: Record<string, string>, options: WalrusProcessOptions = {}): WalrusProcess {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const p of running) p.kill('SIGKILL');
    });
  }
  const cmd = diesWithParent(process.execPath, [...WALRUS_NODE_ARGS, ...(options.nodeArgs ?? []), WALRUS_BIN, ...args]);
  const proc = spawn(cmd.command, cmd.args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'debug', METRICS_HOST: '127.0.0.1', METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let out = '';
  let err = '';
  const name = `walrus ${args.join(' ')} (pid ${String(proc.pid)})`;
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const splitLines = (text: string) => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));
  options.onLogSource?.({ name, lines: () => splitLines(out), running: alive });
  options.onLogSource?.({ name: `${name} stderr`, lines: () => splitLines(err), running: alive, reportSilence: false });
  let partial = '';
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  proc.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      if (!p.trim()) continue;
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        lines.push({ level: 0, msg: p });
      }
    }
    for (const w of waiters) w();
  });
  proc.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    for (const w of waiters) w();
  });
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, sig) => {
      running.delete(proc);
      for (const w of waiters) w();
      resolve(code ?? sig ?? 'unknown');
    });
  });
  /** Resolves with the first truthy `found()`, checked on every output chunk and at exit. */
  const waitUntil = <T>(found: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = found();
        if (value !== undefined) {
          cleanup();
          resolve(value);
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          cleanup();
          reject(new Error(`walrus ${args.join(' ')} exited before ${what}\nstderr: ${err}\nstdout: ${out.slice(-4000)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nstderr: ${err}\nstdout: ${out.slice(-4000)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const self: WalrusProcess = {
    proc,
    lines,
    stdout: () => out,
    stderr: () => err,
    exited,
    signal: (sig) => proc.kill(sig),
    waitForLog: (match, what, timeoutMs = WAIT_DEFAULT_MS) => waitUntil(() => lines.find(match), what, timeoutMs),
    waitForStderr: async (text, what, timeoutMs = WAIT_DEFAULT_MS) => {
      await waitUntil(() => err.includes(text) || undefined, what, timeoutMs);
    },
    stop: async (timeoutMs = 20_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return self;
}

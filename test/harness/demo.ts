import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { WALRUS_BIN } from '@walrus/cli/launch';
import { registerLogSource } from './logs.js';

/** A `walrus demo` process, its output collected. */
export interface Demo {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | string>;
}

const demos: Demo[] = [];

/**
 * Starts `walrus demo <args>` as a newcomer would (only PATH and HOME from
 * this environment), from this checkout or from `bin` (another checkout's
 * packages/cli/bin/walrus.mjs). Its output is printed when a test fails.
 */
export function startDemo(args: string[], options: { bin?: string; cwd?: string } = {}): Demo {
  const proc = spawn(process.execPath, [options.bin ?? WALRUS_BIN, 'demo', ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (c, s) => resolve(c ?? s ?? 'unknown')));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const lines = (text: string) => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));
  registerLogSource({ name: `walrus demo ${args.join(' ')} (pid ${String(proc.pid)})`, lines: () => lines(out), running });
  registerLogSource({ name: `walrus demo (pid ${String(proc.pid)}) stderr`, lines: () => lines(err), running, reportSilence: false });
  const demo = { proc, out: () => out, err: () => err, exited };
  demos.push(demo);
  return demo;
}

/** Pids of processes whose command line mentions `text` (the demo's servers name their directories). */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) pids.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/**
 * For a file's afterAll, only needed when a test failed half-way: the demo's
 * servers run in their own process group, so a killed demo would leave them
 * behind. Stops every demo still running (SIGTERM, SIGKILL after 20 s), then
 * kills what still runs in its temporary directory and removes it.
 */
export async function stopDemos(): Promise<void> {
  for (const { proc: running, out } of demos.splice(0)) {
    if (running.exitCode === null && running.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          running.kill('SIGKILL');
          resolve();
        }, 20_000);
        running.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        running.kill('SIGTERM');
      });
    }
    const dir = /temp dir\s+(\S+)/.exec(out())?.[1];
    if (dir?.includes('walrus-demo-')) {
      for (const pid of processesMentioning(dir)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { WALRUS_BIN } from '@walrus/cli/launch';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './harness/mod.js';
import { childrenOf, processGone } from './harness/process.js';
import { defined } from './harness/defined.js';

const DURATION_SEC = 60;

/** Pids of processes whose command line mentions `text` (the demo's servers name their directories). */
function processesMentioning(text: string): number[] {
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

interface Demo {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | string>;
}
const demos: Demo[] = [];

function startDemo(args: string[]): Demo {
  const proc = spawn(process.execPath, [WALRUS_BIN, 'demo', ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (c, s) => resolve(c ?? s ?? 'unknown')));
  const demo = { proc, out: () => out, err: () => err, exited };
  demos.push(demo);
  return demo;
}

/** Every descendant of `pid` now (PostgreSQL's backends are children of the postmaster). */
function descendants(pid: number): number[] {
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const children = childrenOf(defined(queue.shift()));
    found.push(...children);
    queue.push(...children);
  }
  return found;
}

/** True when nothing listens on the loopback port any more (it can be bound again). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

// Only when a test failed half-way: the demo's servers run in their own
// process group, so a killed demo would leave them behind.
afterAll(async () => {
  for (const { proc: running, out } of demos) {
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
});

describe('walrus demo', () => {
  it(
    'walrus demo - grows max_wal_size under its own write load, exits 0 and leaves nothing behind',
    async () => {
      const started = Date.now();
      const demo = startDemo(['--duration', String(DURATION_SEC)]);
      const code = await demo.exited;
      const out = demo.out();
      const err = demo.err();
      const context = `stdout:\n${out}\nstderr:\n${err}`;
      expect(code, context).toBe(0);
      expect(err, context).toBe('');
      // It stopped by itself after --duration, plus start-up and shutdown.
      expect(Date.now() - started).toBeGreaterThanOrEqual(DURATION_SEC * 1000);

      // Not a terminal: plain lines, no escape sequences.
      expect(out).not.toContain('\x1b[');
      const natsPid = Number(/nats-server\s+pid (\d+)/.exec(out)?.[1]);
      const pgPid = Number(/PostgreSQL 17\s+pid (\d+)/.exec(out)?.[1]);
      const dir = /temp dir\s+(\S+)/.exec(out)?.[1] ?? '';
      expect(natsPid, context).toBeGreaterThan(0);
      expect(pgPid, context).toBeGreaterThan(0);
      expect(dir, context).toMatch(/\/walrus-demo-[^/]+$/);

      // Forced checkpoints at 32MB, an increase decided and applied on the server.
      expect(out, context).toMatch(/\] checkpoints are forced/);
      const increase = /\] decision increase 32MB -> (\d+)MB/.exec(out);
      expect(increase, context).not.toBeNull();
      const applied = [...out.matchAll(/\] applied: max_wal_size = (\d+)MB/g)].map((m) => Number(m[1]));
      expect(applied[0], context).toBe(Number(increase?.[1]));
      expect(Math.max(...applied), context).toBeGreaterThan(32);
      expect(out, context).toMatch(/^summary: max_wal_size 32 -> \d+/m);

      // Everything it started is gone.
      expect(out, context).toContain(`stopped: pid ${natsPid} and pid ${pgPid} gone, ${dir} removed`);
      expect(processGone(natsPid)).toBe(true);
      expect(processGone(pgPid)).toBe(true);
      expect(existsSync(dir)).toBe(false);
      expect(processesMentioning(dir)).toEqual([]);
    },
    // The demo runs DURATION_SEC by itself; starting (initdb, nats-server,
    // four services) and stopping it get the same budget as any other test:
    // they took 19 s of a 100 s limit under load in one run.
    DURATION_SEC * 1000 + 120_000,
  );

  it(
    'walrus demo - Ctrl-C mid-run stops it, exit 0, and leaves no process, directory or port behind',
    async () => {
      const demo = startDemo([]);
      // Mid-run: the servers, the services and the write load are up, checkpoints are being forced.
      await waitFor(() => /\] checkpoints are forced/.test(demo.out()) || demo.proc.exitCode !== null || null, {
        what: 'the demo running under its write load',
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      const out = demo.out();
      const context = () => `stdout:\n${demo.out()}\nstderr:\n${demo.err()}`;
      expect(demo.proc.exitCode, context()).toBeNull();
      const natsPid = Number(/nats-server\s+pid (\d+)/.exec(out)?.[1]);
      const pgPid = Number(/PostgreSQL 17\s+pid (\d+)/.exec(out)?.[1]);
      const ports = [/nats-server\s+pid \d+, nats:\/\/127\.0\.0\.1:(\d+)/, /PostgreSQL 17\s+pid \d+, postgres:\/\/[^@]+@127\.0\.0\.1:(\d+)\//].map((re) => Number(re.exec(out)?.[1]));
      const dir = /temp dir\s+(\S+)/.exec(out)?.[1] ?? '';
      expect(dir, context()).toMatch(/\/walrus-demo-[^/]+$/);
      expect(ports.every((p) => p > 0), context()).toBe(true);
      // Everything it started: the two servers, PostgreSQL's own processes, anything else under the demo.
      const started = descendants(defined(demo.proc.pid));
      expect(started, context()).toEqual(expect.arrayContaining([natsPid, pgPid]));
      for (const p of ports) expect(await portFree(p), `port ${p} in use while running`).toBe(false);

      demo.proc.kill('SIGINT');
      expect(await demo.exited, context()).toBe(0);
      expect(demo.err(), context()).toBe('');
      expect(demo.out(), context()).toContain(`stopped: pid ${natsPid} and pid ${pgPid} gone, ${dir} removed`);
      expect(started.filter((pid) => !processGone(pid)), context()).toEqual([]);
      expect(processesMentioning(dir)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
      for (const p of ports) expect(await portFree(p), `port ${p} still in use`).toBe(true);
    },
    100_000,
  );
});

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { WALRUS_BIN } from '@walrus/cli/launch';
import { afterAll, describe, expect, it } from 'vitest';
import { processGone } from './harness/process.js';

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

let child: ChildProcess | undefined;
let out = '';
let err = '';

// Only when the test failed half-way: the demo's servers run in their own
// process group, so a killed demo would leave them behind.
afterAll(async () => {
  const running = child;
  if (running && running.exitCode === null && running.signalCode === null) {
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
  const dir = /temp dir\s+(\S+)/.exec(out)?.[1];
  if (dir?.includes('walrus-demo-')) {
    for (const pid of processesMentioning(dir)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('walrus demo', () => {
  it(
    'walrus demo - grows max_wal_size under its own write load, exits 0 and leaves nothing behind',
    async () => {
      const started = Date.now();
      const proc = spawn(process.execPath, [WALRUS_BIN, 'demo', '--duration', String(DURATION_SEC)], {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const code = await new Promise<number | string>((resolve) => proc.once('exit', (c, s) => resolve(c ?? s ?? 'unknown')));
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
    100_000,
  );
});

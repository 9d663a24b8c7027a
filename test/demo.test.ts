import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { processesMentioning, startDemo, stopDemos } from './harness/demo.js';
import { freePort, waitFor } from './harness/mod.js';
import { childrenOf, processGone } from './harness/process.js';
import { defined } from './harness/defined.js';

const DURATION_SEC = 60;

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

afterAll(stopDemos);

describe('walrus demo', () => {
  it(
    'walrus demo - grows max_wal_size under its own write load, exits 0 and leaves nothing behind',
    async () => {
      const started = Date.now();
      // A port of our own for the live page: the default (9105) may be anyone's on this machine.
      const demo = startDemo(['--duration', String(DURATION_SEC), '--port', String(await freePort())]);
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
    'walrus demo - Ctrl-C mid-run stops it, exit 0, and leaves no process, directory or port behind; the live page answers on the port asked for meanwhile',
    async () => {
      const pagePort = await freePort();
      const demo = startDemo(['--port', String(pagePort)]);
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
      // The live page: printed with the other addresses, on the port asked for, the control service's page.
      expect(out, context()).toMatch(new RegExp(`^  live page +http://127\\.0\\.0\\.1:${pagePort}/$`, 'm'));
      const page = await fetch(`http://127.0.0.1:${pagePort}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>walrus — live</title>');
      ports.push(pagePort);
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

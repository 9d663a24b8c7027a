import { spawn, spawnSync } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { postgresRunAs } from '@walrus/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, stopDemos } from './harness/demo.js';
import { defined } from './harness/defined.js';
import { freePort, waitFor } from './harness/mod.js';
import { makePrivateCheckout, type PrivateCheckout } from './harness/private-checkout.js';

// Issue 24: a newcomer who is root clones into /root (mode 0700) or a
// `mktemp -d` directory, and PostgreSQL, which runs as the postgres OS user,
// could not reach its own binaries in the checkout. Only root runs
// PostgreSQL as another user, so only a root run can show this; CI runs as root.
const root = process.getuid?.() === 0;

let co: PrivateCheckout | undefined;
const checkout = (): PrivateCheckout => defined(co, 'the private checkout (beforeAll)');
let taken: Server | undefined;

afterAll(async () => {
  await stopDemos();
  await new Promise<void>((resolve) => (taken ? taken.close(() => resolve()) : resolve()));
  await co?.remove();
});

describe.runIf(root)('root from a private directory', () => {
  beforeAll(async () => {
    co = await makePrivateCheckout();
  }, 120_000);

  it('root from a private directory - the checkout is below a mode 0700 directory, where the postgres user cannot run the package binaries', () => {
    const { parent, checkout: dir } = checkout();
    expect(statSync(parent).mode & 0o777).toBe(0o700);
    // What failed before: the npm package's own postgres, as the postgres user.
    const packaged = join(realpathSync(join(dir, 'packages', 'servers', 'node_modules', 'pg17')), 'native', 'bin', 'postgres');
    expect(packaged.startsWith(`${parent}/`)).toBe(true);
    const runAs = defined(postgresRunAs(), 'the postgres OS user');
    const run = spawnSync(packaged, ['--version'], { uid: runAs.uid, gid: runAs.gid, encoding: 'utf8' });
    expect(run.error?.message).toMatch(/EACCES/);
  });

  it(
    'root from a private directory - walrus demo starts: PostgreSQL as the postgres user from a copy, the services, a growth applied, the live page printed and answering (on a free port, the one asked for being taken)',
    async () => {
      const { parent, checkout: dir } = checkout();
      // Someone already listens on the page's port: the demo takes a free one and says so.
      const port = await freePort();
      taken = createServer();
      await new Promise<void>((resolve) => defined(taken, 'listener').listen(port, '127.0.0.1', resolve));
      const demo = startDemo(['--port', String(port)], { bin: join(dir, 'packages', 'cli', 'bin', 'walrus.mjs'), cwd: dir });
      const context = () => `stdout:\n${demo.out()}\nstderr:\n${demo.err()}`;
      const applied = await waitFor(() => /\] applied: max_wal_size = (\d+)MB/.exec(demo.out()) ?? (demo.proc.exitCode !== null ? new Error(context()) : null), {
        what: 'a growth applied by the demo run from the private checkout',
      });
      if (applied instanceof Error) throw applied;
      expect(Number(applied[1])).toBeGreaterThan(32);
      const out = demo.out();
      expect(out, context()).toMatch(/^walrus demo: starting historian, decider, applier, control, collector …$/m);

      // PostgreSQL runs as the postgres user, from the copy the header names, which is outside the private directory.
      const pgPid = Number(/PostgreSQL 17\s+pid (\d+)/.exec(out)?.[1]);
      const copy = /^ {2}PostgreSQL runs as +the postgres OS user, from a copy of its binaries in (\S+)$/m.exec(out)?.[1] ?? '';
      expect(pgPid, context()).toBeGreaterThan(0);
      expect(copy, context()).not.toBe('');
      expect(copy.startsWith(`${parent}/`)).toBe(false);
      expect(realpathSync(`/proc/${pgPid}/exe`)).toBe(join(realpathSync(copy), 'bin', 'postgres'));
      expect(statSync(`/proc/${pgPid}`).uid).toBe(defined(postgresRunAs(), 'the postgres OS user').uid);

      // The live page: its address printed with the others, on another port than the taken one, answering.
      expect(out, context()).toContain(`walrus demo: port ${port} is taken: the live page gets a free port`);
      const pageUrl = /^ {2}live page +(http:\/\/127\.0\.0\.1:(\d+)\/)$/m.exec(out);
      expect(pageUrl, context()).not.toBeNull();
      expect(Number(pageUrl?.[2])).not.toBe(port);
      const url = defined(pageUrl?.[1], 'the live page address');
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>walrus — live</title>');
      // Every service of the process is ready, and the page's data names the demo's cluster.
      expect((await fetch(new URL('/readyz', url))).status).toBe(200);
      expect(JSON.stringify(await (await fetch(new URL('/api/fleet', url))).json())).toContain('"cluster":"demo"');

      demo.proc.kill('SIGINT');
      expect(await demo.exited, context()).toBe(0);
      expect(demo.err(), context()).toBe('');
    },
    180_000,
  );

  it(
    'root from a private directory - a real-server test file passes from there (test/pipeline.test.ts, PostgreSQL 15-18, in a vitest of its own with the system check first)',
    async () => {
      const { checkout: dir } = checkout();
      // A newcomer's environment: none of this run's vitest or pnpm variables.
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && !k.startsWith('npm_')));
      const child = spawn(process.execPath, [join(dir, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', 'integration', 'test/pipeline.test.ts'], {
        cwd: dir,
        env: { ...env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      expect(out).not.toContain('the integration tests cannot run here');
      expect(code, out).toBe(0);
      expect(out).toMatch(/Tests +4 passed \(4\)/);
    },
    240_000,
  );
});

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What CI shows of a failed integration test: test/harness/setup.ts prints
// the logs of everything the test started. Checked on fixtures that fail on
// purpose, run in a vitest of their own.
const root = fileURLToPath(new URL('..', import.meta.url));
const vitestBin = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

async function runFixtures(): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [vitestBin, 'run', '--config', 'test/harness/fixtures/vitest.config.ts'], {
    cwd: root,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, out };
}

describe('failure logs - a failed test prints the logs of what it started', () => {
  it('failure logs - the services and servers of a failed test, and everything after a failed hook', async () => {
    const { code, out } = await runFixtures();
    expect(code, out).toBe(1);
    const testLogs = /════ logs of what this test file started \("fixture - fails after starting a decider" failed\) ════\n([\s\S]*?)════ end of logs ════/.exec(out)?.[1];
    expect(testLogs, out).toBeDefined();
    // The nats-server of beforeAll (it runs during the test) and the decider the test started, with their own lines.
    expect(testLogs).toMatch(/──── nats-server nats:\/\/127\.0\.0\.1:\d+ \(running\): lines 1-\d+ ────[\s\S]*Server is ready/);
    expect(testLogs).toMatch(/──── walrus decider \(pid \d+\) \(\w+\): lines 1-\d+ ────\n[\s\S]*"msg":"started"/);
    const hookLogs = /════ logs of what this test file started \(a beforeAll or afterAll hook failed\) ════\n([\s\S]*?)════ end of logs ════/.exec(out)?.[1];
    expect(hookLogs, out).toBeDefined();
    // A failed hook shows the rest: here the stderr of the command its hook ran.
    expect(hookLogs).toMatch(/──── walrus frobnicate-marker \(pid \d+\) stderr \(stopped\): lines 1-\d+ ────\n.*unknown command "frobnicate-marker"/);
    // Lines printed once are not printed again.
    expect(hookLogs).not.toContain('"msg":"started"');
  }, 120_000);
});

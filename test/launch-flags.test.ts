import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WALRUS_NODE_ARGS } from '../packages/cli/src/node-args.js';

// Node options cannot be set from inside a running process, so each way of
// starting walrus repeats them; this keeps the launchers in agreement.
const root = fileURLToPath(new URL('..', import.meta.url));
const read = (p: string) => readFileSync(`${root}/${p}`, 'utf8');
const flags = WALRUS_NODE_ARGS.join(' ');

describe('launch flags - every launcher gives node the same options', () => {
  it('the pnpm walrus script', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts['walrus']).toBe(`node ${flags} packages/cli/bin/walrus.mjs`);
  });

  it("the bin's shebang (an installed `walrus` command)", () => {
    expect(read('packages/cli/bin/walrus.mjs').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`);
  });

  it("the Dockerfile's entrypoint", () => {
    const entrypoint = /^ENTRYPOINT\s+(\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(entrypoint && (JSON.parse(entrypoint) as string[])).toEqual(['node', ...WALRUS_NODE_ARGS, 'packages/cli/bin/walrus.mjs']);
  });

  it('the test harness', () => {
    expect(read('test/harness/walrus-process.ts')).toMatch(/diesWithParent\(process\.execPath, \[\.\.\.WALRUS_NODE_ARGS, /);
  });
});

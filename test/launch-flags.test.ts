import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WALRUS_BIN, WALRUS_NODE_ARGS } from '@walrus/cli/launch';

// Node options cannot be set from inside a running process, so each way of
// starting walrus repeats them; this keeps the launchers in agreement.
const root = fileURLToPath(new URL('..', import.meta.url));
const read = (p: string) => readFileSync(`${root}/${p}`, 'utf8');
const flags = WALRUS_NODE_ARGS.join(' ');
// The launchers name the bin by its path in the repository (the image's WORKDIR is the repository root).
const bin = relative(root, WALRUS_BIN);

describe('launch flags - every launcher gives node the same options', () => {
  it('the pnpm walrus script', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts['walrus']).toBe(`node ${flags} ${bin}`);
  });

  it("the bin's shebang (an installed `walrus` command)", () => {
    expect(readFileSync(WALRUS_BIN, 'utf8').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`);
  });

  it("the Dockerfile's entrypoint", () => {
    const entrypoint = /^ENTRYPOINT\s+(\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(entrypoint && (JSON.parse(entrypoint) as string[])).toEqual(['node', ...WALRUS_NODE_ARGS, bin]);
  });

  it('the harness of the tests and benchmarks', () => {
    expect(read('packages/harness/src/walrus-process.ts')).toMatch(/diesWithParent\(process\.execPath, \[\.\.\.WALRUS_NODE_ARGS, /);
  });
});

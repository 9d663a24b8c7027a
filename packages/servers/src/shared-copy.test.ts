import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { enterableByOthers, sharedCopy } from './shared-copy.js';

let work: string;
let source: string;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'walrus-shared-copy-'));
  source = join(work, 'native');
  mkdirSync(join(source, 'bin'), { recursive: true });
  mkdirSync(join(source, 'share', 'private'), { recursive: true });
  writeFileSync(join(source, 'bin', 'prog'), '#!/bin/sh\n');
  chmodSync(join(source, 'bin', 'prog'), 0o700);
  writeFileSync(join(source, 'share', 'private', 'data'), 'data');
  chmodSync(join(source, 'share', 'private', 'data'), 0o600);
  chmodSync(join(source, 'share', 'private'), 0o700);
  writeFileSync(join(source, 'left-out'), 'not copied');
});

afterEach(() => rmSync(work, { recursive: true, force: true }));

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('servers shared copy - sharedCopy', () => {
  it('servers shared copy - copies the entries asked for, readable and enterable by everyone, writable by the owner only', async () => {
    const dir = await sharedCopy(source, ['bin', 'share'], join(work, 'cache', 'postgres'), 'v1');
    expect(dir).toBe(join(work, 'cache', 'postgres', 'v1'));
    expect(readdirSync(dir).sort()).toEqual(['bin', 'share']);
    expect(readFileSync(join(dir, 'share', 'private', 'data'), 'utf8')).toBe('data');
    expect(mode(join(dir, 'bin', 'prog'))).toBe(0o755);
    expect(mode(join(dir, 'share', 'private'))).toBe(0o755);
    expect(mode(join(dir, 'share', 'private', 'data'))).toBe(0o644);
    // The directories it made on the way, whatever the umask.
    expect(mode(join(work, 'cache'))).toBe(0o755);
    expect(mode(join(work, 'cache', 'postgres'))).toBe(0o755);
  });

  it.runIf(process.getuid?.() === 0)('servers shared copy - as root, the copy is root\'s whoever owns the source', async () => {
    chownSync(join(source, 'bin', 'prog'), 12345, 12345);
    chownSync(join(source, 'bin'), 12345, 12345);
    const dir = await sharedCopy(source, ['bin'], join(work, 'cache'), 'v1');
    expect(statSync(join(dir, 'bin')).uid).toBe(0);
    expect(statSync(join(dir, 'bin', 'prog')).uid).toBe(0);
  });

  it('servers shared copy - made once: a later call reuses the copy as it is', async () => {
    const dir = await sharedCopy(source, ['bin'], join(work, 'cache'), 'v1');
    writeFileSync(join(dir, 'marker'), 'from the first call');
    writeFileSync(join(source, 'bin', 'new'), 'added to the source later');
    expect(await sharedCopy(source, ['bin'], join(work, 'cache'), 'v1')).toBe(dir);
    expect(readFileSync(join(dir, 'marker'), 'utf8')).toBe('from the first call');
    expect(readdirSync(join(dir, 'bin'))).toEqual(['prog']);
  });

  it('servers shared copy - callers copying at once all get the one complete copy, and no temporary directory stays', async () => {
    const cache = join(work, 'cache');
    const dirs = await Promise.all(Array.from({ length: 6 }, () => sharedCopy(source, ['bin', 'share'], cache, 'v1')));
    expect(new Set(dirs)).toEqual(new Set([join(cache, 'v1')]));
    expect(readdirSync(cache)).toEqual(['v1']);
    expect(readFileSync(join(cache, 'v1', 'share', 'private', 'data'), 'utf8')).toBe('data');
  });

  it('servers shared copy - a temporary copy abandoned by a killed process is removed, a recent one (still being made) is not', async () => {
    const cache = join(work, 'cache');
    const abandoned = join(cache, '.v1.tmp-dead01');
    const recent = join(cache, '.v1.tmp-busy01');
    mkdirSync(abandoned, { recursive: true });
    mkdirSync(recent);
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(abandoned, hourAgo, hourAgo);
    await sharedCopy(source, ['bin'], cache, 'v1');
    expect(readdirSync(cache).sort()).toEqual(['.v1.tmp-busy01', 'v1']);
  });
});

describe('servers shared copy - enterableByOthers', () => {
  it('servers shared copy - false below a mode 0700 directory, true once every directory up to / lets others in', async () => {
    const inner = join(work, 'private', 'checkout');
    mkdirSync(inner, { recursive: true });
    chmodSync(join(work, 'private'), 0o700);
    chmodSync(work, 0o755);
    expect(await enterableByOthers(inner)).toBe(false);
    chmodSync(join(work, 'private'), 0o711);
    expect(await enterableByOthers(inner)).toBe(await enterableByOthers(tmpdir()));
    expect(await enterableByOthers(join(work, 'missing'))).toBe(false);
  });
});

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defined } from './harness/defined.js';
import { isInstalled, readSystemPackages } from './harness/system-check.js';

// test/system-packages.txt is the one list of Debian packages the tests use:
// .ci/run installs from it and the README's set-up line must name the same.
const root = fileURLToPath(new URL('..', import.meta.url));
const packages = readSystemPackages();

describe('system packages - one list for CI, the test run and the README', () => {
  it('the README set-up installs exactly the listed packages', () => {
    const readme = readFileSync(`${root}/README.md`, 'utf8');
    const line = /^apt-get install -y (.+)$/m.exec(readme)?.[1];
    expect(new Set(defined(line, 'an "apt-get install -y ..." line in the README').trim().split(/\s+/))).toEqual(new Set(packages.map((p) => p.name)));
  });

  it('.ci/run installs from the list', () => {
    const ci = readFileSync(`${root}/.ci/run`, 'utf8');
    expect(ci).toMatch(/done < test\/system-packages\.txt/);
    expect(ci).not.toMatch(/apt_missing\+=\((nats-server|chromium|openssl|postgresql)/);
  });

  it('a probe finds a command on PATH, an absolute path and a * pattern, and not what is absent', () => {
    expect(isInstalled('sh')).toBe(true);
    expect(isInstalled('/bin/sh')).toBe(true);
    expect(isInstalled('/*/sh')).toBe(true);
    expect(isInstalled('walrus-no-such-command')).toBe(false);
    expect(isInstalled('/usr/*/walrus-no-such-file')).toBe(false);
  });
});

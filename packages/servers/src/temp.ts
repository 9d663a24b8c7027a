import { accessSync, chmodSync, chownSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from './cleanup.js';
import { serversOptions } from './options.js';
import type { RunAs } from './run-as.js';
import { dropStaleShmem } from './shmem.js';

/*
 * Temporary directories: one root per process (<tempBase>/<tempPrefix>XXXXXX),
 * a directory per server below it, and the removal of what killed runs left.
 */

const TMPFS_MAGIC = 0x01021994;
const TMPFS_MIN_FREE_BYTES = 2 * 1024 ** 3;

/**
 * Where temp roots go: the configured `tempBase` when set; else /dev/shm when
 * it is a writable tmpfs with 2 GiB free (a cluster is a 39 MB copy plus its
 * WAL: on a slow disk, copying and writing it dominated the tests, ~2.5x
 * slower); else the OS temp directory.
 */
export function tempBase(): string {
  const configured = serversOptions().tempBase;
  if (configured) return configured;
  try {
    accessSync('/dev/shm', constants.W_OK | constants.X_OK);
    const fs = statfsSync('/dev/shm');
    if (fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize >= TMPFS_MIN_FREE_BYTES) return '/dev/shm';
  } catch {
    // No usable /dev/shm.
  }
  return tmpdir();
}

let root: string | undefined;
const OWNER_FILE = 'owner.pid';

/**
 * This process's temporary root, <tempBase()>/<tempPrefix>XXXXXX, removed by
 * the cleanup registry after everything in it has stopped. Mode 0711 so that
 * the postgres OS user can reach its own subdirectories.
 */
export function tempRoot(): string {
  if (root !== undefined) return root;
  const dir = mkdtempSync(join(tempBase(), serversOptions().tempPrefix));
  chmodSync(dir, 0o711);
  // Who owns it: removeStaleTempRoots() removes the roots of processes that are gone.
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  root = dir;
  const remove = (): void => {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    if (root === dir) root = undefined;
  };
  registerCleanup(remove, { name: `remove ${dir}`, sync: remove });
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a running process's command line names something under `dir` (a server's data directory, log, store). */
function inUse(dir: string): boolean {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(dir)) return true;
    } catch {
      // Gone meanwhile.
    }
  }
  return false;
}

/**
 * Removes what SIGKILLed runs left behind under `bases`: temp roots named
 * <prefix>* whose owner process is gone and that no running process uses
 * (a root without an owner file counts once it is an hour old). In /dev/shm
 * they hold memory: a few killed runs with their PostgreSQL data and WAL
 * can take gigabytes from the machine the next run needs. Returns the roots
 * removed.
 */
export function removeStaleTempRoots(prefix: string, bases: readonly string[] = ['/dev/shm', tmpdir()]): string[] {
  const removed: string[] = [];
  for (const base of new Set(bases)) {
    let names: string[];
    try {
      names = readdirSync(base).filter((n) => n.startsWith(prefix));
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = join(base, name);
      if (dir === root) continue;
      try {
        const owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8').trim());
        if (Number.isInteger(owner) && owner > 0 && alive(owner)) continue;
      } catch {
        try {
          if (Date.now() - statSync(dir).mtimeMs < 3600_000) continue;
        } catch {
          continue;
        }
      }
      if (inUse(dir)) continue;
      // A killed postmaster's SysV segment stays until removed by id.
      try {
        for (const sub of readdirSync(dir)) dropStaleShmem(join(dir, sub, 'data'));
      } catch {
        // Not readable: removed below all the same.
      }
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      removed.push(dir);
    }
  }
  return removed;
}

/** A fresh directory under the temp root, owned by `owner` when given (mode 0700). */
export function makeTempDir(prefix: string, owner: RunAs | null = null): string {
  const dir = mkdtempSync(join(tempRoot(), prefix));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return dir;
}

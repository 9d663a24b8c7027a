import { execFile as execFileCb } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);

/** A temporary copy older than this was left by a process that died while copying. */
const ABANDONED_AFTER_MS = 10 * 60_000;

/**
 * `dir/name`: a copy of `entries` of `source`, made once and then reused,
 * also by other processes. The copy is made in a temporary sibling
 * (`.name.tmp-XXXXXX`) and renamed into place, so `dir/name` is either
 * absent or complete: two processes copying at once both succeed, the
 * second rename fails on the first one's directory and its own copy is
 * removed. Everything is owned by this process's user and made readable
 * (and directories and executables enterable) by every user, writable only
 * by its owner, whatever the umask or the source's owner and modes.
 * Returns the directory.
 */
export async function sharedCopy(source: string, entries: readonly string[], dir: string, name: string): Promise<string> {
  const target = join(dir, name);
  if (await isDirectory(target)) return target;
  await mkdirReadable(dir);
  await removeAbandoned(dir, name);
  const temp = await mkdtemp(join(dir, `.${name}.tmp-`));
  try {
    // Owned by whoever copies (root), not by the source's owner: one user's checkout must not be able to change what every later run executes.
    await execFile('cp', ['-a', '--no-preserve=ownership', '--', ...entries.map((e) => join(source, e)), temp]);
    await execFile('chmod', ['-R', 'u+rwX,go+rX,go-w', temp]);
    try {
      await rename(temp, target);
    } catch (err) {
      // Another process renamed its complete copy into place first: use that one.
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !(await isDirectory(target))) throw err;
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return target;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    // lstat: a symbolic link planted in its place is not our copy.
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** mkdir -p, each directory made here mode 0755 whatever the umask. */
async function mkdirReadable(dir: string): Promise<void> {
  if (await isDirectory(dir)) return;
  await mkdirReadable(dirname(dir));
  try {
    await mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return;
  }
  await chmod(dir, 0o755);
}

async function removeAbandoned(dir: string, name: string): Promise<void> {
  const prefix = `.${name}.tmp-`;
  for (const entry of await readdir(dir)) {
    if (!entry.startsWith(prefix)) continue;
    const path = join(dir, entry);
    try {
      if (Date.now() - (await stat(path)).mtimeMs > ABANDONED_AFTER_MS) await rm(path, { recursive: true, force: true });
    } catch {
      // Renamed or removed by its owner meanwhile.
    }
  }
}

/**
 * Whether a user who is neither the owner nor in the group of each directory
 * (the `postgres` user, for directories root made) can enter every directory
 * from / down to `path`: the "others" execute bit of each.
 */
export async function enterableByOthers(path: string): Promise<boolean> {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      if (((await stat(dir)).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (dirname(dir) === dir) return true;
  }
}

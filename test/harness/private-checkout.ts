import { execFile as execFileCb } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { registerCleanup } from './mod.js';

const execFile = promisify(execFileCb);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface PrivateCheckout {
  /** The directory above the checkout: mode 0700, as /root or a `mktemp -d` directory. */
  parent: string;
  checkout: string;
  remove(): Promise<void>;
}

/**
 * A checkout as a newcomer's clone would be, in a directory nobody but its
 * owner may enter (mkdtemp makes it mode 0700): this checkout's files as
 * they are in the working tree, then the README's `pnpm install`, offline: every
 * package is in pnpm's store already, so this takes seconds and no network.
 * In the OS temporary directory, not /dev/shm: on the store's file system
 * pnpm links the packages instead of copying 250 MB. Named walrus-test-*
 * with its owner's pid, so that the run after a killed one removes it
 * (global-setup.ts) and no other run removes it meanwhile.
 */
export async function makePrivateCheckout(): Promise<PrivateCheckout> {
  const parent = mkdtempSync(join(tmpdir(), 'walrus-test-private-'));
  // As a temporary root's: removeStaleTempRoots keeps it while this process lives.
  writeFileSync(join(parent, 'owner.pid'), String(process.pid));
  const remove = (): void => rmSync(parent, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  const unregister = registerCleanup(remove, { name: `remove ${parent}`, sync: remove });
  const checkout = join(parent, 'walrus');
  try {
    await execFile('mkdir', [checkout]);
    await copyCheckout(checkout);
    // As the README says, without the outer pnpm's npm_* variables (this may run under `pnpm test`).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
    await execFile('pnpm', ['install', '--offline', '--frozen-lockfile'], { cwd: checkout, env, maxBuffer: 16 * 1024 ** 2 });
  } catch (err) {
    unregister();
    remove();
    throw err;
  }
  return {
    parent,
    checkout,
    remove: async () => {
      unregister();
      await rm(parent, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

/**
 * This checkout's files as they are in the working tree: git's list
 * (tracked, and untracked ones it does not ignore); in a copy without git
 * (a tarball, a CI cache), everything but node_modules.
 */
async function copyCheckout(to: string): Promise<void> {
  let files: string[];
  try {
    const { stdout } = await execFile('git', ['-C', ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { maxBuffer: 64 * 1024 ** 2 });
    // A file deleted in the working tree but not yet in git's index is not there to copy.
    files = stdout.split('\0').filter((f) => f !== '' && existsSync(join(ROOT, f)));
  } catch {
    await execFile('sh', ['-c', 'tar -C "$1" --exclude=node_modules --exclude=.git -cf - . | tar -C "$2" -xf -', 'sh', ROOT, to]);
    return;
  }
  for (let i = 0; i < files.length; i += 500) {
    await execFile('cp', ['--parents', '-t', to, '--', ...files.slice(i, i + 500)], { cwd: ROOT });
  }
}

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * After a crash the postmaster's SysV segment stays (its id is on line 7 of
 * postmaster.pid); a restart reuses it, a removal must drop it.
 */
export function dropStaleShmem(dataDir: string): void {
  try {
    const line = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[6] ?? '';
    const shmid = line.trim().split(/\s+/)[1];
    if (shmid && /^\d+$/.test(shmid)) spawnSync('ipcrm', ['-m', shmid], { stdio: 'ignore' });
  } catch {
    // No pid file: the server shut down cleanly and released it.
  }
}

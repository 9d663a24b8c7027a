import type { Logger } from '@walrus/runtime';
import type pg from 'pg';
import { readPrivileges } from './sql/privileges.js';

export const grantsHint = 'run walrus with a role of least privilege: `walrus grants <role>` prints the SQL';

/**
 * A superuser can do anything to the cluster, so a leaked walrus credential
 * would be a leaked superuser: say so once per cluster at start-up. Any
 * error (cluster down) is only logged at debug: the apply path reports it.
 */
export async function warnIfSuperuser(pool: pg.Pool, cluster: string, log: Logger): Promise<void> {
  try {
    const client = await pool.connect();
    try {
      const p = await readPrivileges(client);
      if (p.superuser) log.warn({ cluster, role: p.role }, `connected to the cluster as a superuser; ${grantsHint}`);
    } finally {
      client.release();
    }
  } catch (err) {
    log.debug({ cluster, err }, 'could not check the role of the cluster connection at start-up');
  }
}

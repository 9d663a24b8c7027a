import type { ClientBase } from 'pg';
import { readSessionRole } from './sql/read-session-role.js';

export const GRANTS_HINT = 'run walrus with a role of least privilege: `walrus grants <role>` prints the SQL';
export const SUPERUSER_WARNING = `connected to the cluster as a superuser; ${GRANTS_HINT}`;

/** Where a check is remembered: one per process, shared by its services (`walrus all`), so each cluster is checked once. */
export interface CheckClaims {
  /** True the first time a key is claimed in the process. */
  claim(key: string): boolean;
  /** Gives a key back (a check that could not be made is tried again). */
  release(key: string): void;
}

/** The part of a pino logger the check writes to. */
export interface CheckLog {
  warn(fields: object, msg: string): void;
  debug(fields: object, msg: string): void;
}

/**
 * A superuser can do anything to a cluster, so a leaked walrus credential
 * would be a leaked superuser: every service that connects to a monitored
 * cluster (collector, the control service's live reads, applier) says so,
 * once per cluster per process, on a connection it holds anyway. The first
 * successful check of a cluster is the only one: the collector samples
 * every few seconds, and a query per sample for a warning given once would
 * be waste. A failed check (the cluster went away meanwhile) is only logged
 * at debug and tried again on the next connection; whatever the caller was
 * doing reports the failure its own way.
 */
export class SuperuserCheck {
  constructor(
    private readonly log: CheckLog,
    private readonly claims: CheckClaims,
  ) {}

  /** Never throws. */
  async check(client: ClientBase, cluster: string): Promise<void> {
    const key = `superuser:${cluster}`;
    if (!this.claims.claim(key)) return;
    try {
      const { role, superuser } = await readSessionRole(client);
      if (superuser) this.log.warn({ cluster, role }, SUPERUSER_WARNING);
    } catch (err) {
      this.claims.release(key);
      this.log.debug({ cluster, err }, 'could not check the role of the cluster connection; trying again on the next one');
    }
  }
}

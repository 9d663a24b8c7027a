import { execFileSync } from 'node:child_process';

/** An OS identity to run a server as. */
export interface RunAs {
  uid: number;
  gid: number;
}

let postgresUser: RunAs | null | undefined;

/**
 * PostgreSQL refuses to run as root. When this process runs as root, initdb
 * and postgres run as the `postgres` OS user instead; otherwise as ourselves (null).
 */
export function postgresRunAs(): RunAs | null {
  if (postgresUser !== undefined) return postgresUser;
  if (process.getuid?.() !== 0) {
    postgresUser = null;
    return postgresUser;
  }
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    postgresUser = { uid, gid };
    return postgresUser;
  } catch (err) {
    throw new Error('running as root, and PostgreSQL refuses root: an OS user named "postgres" is needed to run it as', { cause: err });
  }
}

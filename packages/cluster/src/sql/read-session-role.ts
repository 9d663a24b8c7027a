import type { ClientBase } from 'pg';

export interface SessionRole {
  /** current_user of the connection. */
  role: string;
  superuser: boolean;
}

const SESSION_ROLE_SQL = `SELECT current_user AS role, r.rolsuper AS superuser
  FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`;

/** Who the connection is on the server (readable by any role: pg_roles hides only passwords). */
export async function readSessionRole(client: ClientBase): Promise<SessionRole> {
  const { rows } = await client.query<{ role: string; superuser: boolean | string }>(SESSION_ROLE_SQL);
  const row = rows[0];
  if (!row) throw new Error('cannot read the role of the connection');
  // Whatever type parsers the caller's client has: a boolean, or PostgreSQL's text for one.
  return { role: row.role, superuser: row.superuser === true || row.superuser === 't' || row.superuser === 'true' };
}

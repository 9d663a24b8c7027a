import type { ClientBase } from 'pg';

export interface Privileges {
  role: string;
  superuser: boolean;
  canAlterMaxWalSize: boolean;
  /** walrus.bound_slots: ALTER SYSTEM on max_slot_wal_keep_size (the same grant, for that parameter). */
  canAlterSlotKeep: boolean;
  canReload: boolean;
}

/** What the connected role may do, so a missing grant is named before anything is changed. */
export async function readPrivileges(client: ClientBase): Promise<Privileges> {
  const { rows } = await client.query<{ role: string; superuser: boolean; alter_ok: boolean; keep_ok: boolean; reload_ok: boolean }>(
    `SELECT current_user AS role,
            r.rolsuper AS superuser,
            has_parameter_privilege('max_wal_size', 'ALTER SYSTEM') AS alter_ok,
            has_parameter_privilege('max_slot_wal_keep_size', 'ALTER SYSTEM') AS keep_ok,
            has_function_privilege('pg_catalog.pg_reload_conf()', 'EXECUTE') AS reload_ok
       FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
  );
  const row = rows[0];
  if (!row) throw new Error('cannot read the privileges of the current role');
  return { role: row.role, superuser: row.superuser, canAlterMaxWalSize: row.alter_ok, canAlterSlotKeep: row.keep_ok, canReload: row.reload_ok };
}

/** The grants a role lacks, as the SQL that gives them; `slotKeep`: the decision also sets max_slot_wal_keep_size. */
export function missingGrants(p: Privileges, o: { slotKeep?: boolean } = {}): string[] {
  if (p.superuser) return [];
  const role = quoteIdent(p.role);
  const missing: string[] = [];
  if (!p.canAlterMaxWalSize) missing.push(`GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO ${role}`);
  if (o.slotKeep && !p.canAlterSlotKeep) missing.push(`GRANT ALTER SYSTEM ON PARAMETER max_slot_wal_keep_size TO ${role}`);
  if (!p.canReload) missing.push(`GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO ${role}`);
  return missing;
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

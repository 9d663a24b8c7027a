import { parseArgs } from 'node:util';

/**
 * `walrus grants <role>`: the SQL that lets a role without superuser run
 * every walrus service against a cluster (PostgreSQL 15+, where privileges
 * on parameters exist). See docs/POSTGRES-NOTES.md, "Privileges".
 */

export const GRANTS_USAGE = `Usage: walrus grants <role>

Prints the SQL that creates <role> (LOGIN, without a password: set one) when it
does not exist and gives it exactly what walrus needs on PostgreSQL 15 or later:
reading statistics (pg_monitor), ALTER SYSTEM on max_wal_size only, and
pg_reload_conf(). Run it as a superuser on each monitored cluster.

  --bound-slots   also ALTER SYSTEM on max_slot_wal_keep_size, which the
                  applier sets for clusters with walrus.bound_slots on
`;

export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

const quoteLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`;

export function grantsSql(role: string, o: { boundSlots?: boolean } = {}): string {
  const r = quoteIdent(role);
  const bound = o.boundSlots
    ? `-- walrus.bound_slots: the applier also sets max_slot_wal_keep_size (docs/DISK-SAFETY.md)
GRANT ALTER SYSTEM ON PARAMETER max_slot_wal_keep_size TO ${r};
`
    : '';
  return `-- walrus: least privilege for role ${r} (PostgreSQL 15 or later; run as a superuser)
DO $walrus$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(role)}) THEN
    CREATE ROLE ${r} LOGIN;  -- then: \\password ${r}
  END IF;
END
$walrus$;
-- checkpoint statistics, pg_stat_wal, pg_ls_waldir() (collector)
GRANT pg_monitor TO ${r};
-- resize (applier; also ALTER SYSTEM RESET for the patroni strategy) and nothing else
GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO ${r};
GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO ${r};
${bound}`;
}

export function grantsCommand(args: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, 'bound-slots': { type: 'boolean' } }, strict: true, allowPositionals: true });
  } catch (err) {
    // An option other than --help: not a role name either.
    if (!isParseArgsError(err)) throw err;
    return badRole(args);
  }
  if (parsed.values.help) {
    process.stdout.write(GRANTS_USAGE);
    return 0;
  }
  const [role, ...rest] = parsed.positionals;
  // `$walrus$` would end the DO block's quoting early.
  if (role === undefined || rest.length > 0 || role === '' || role.length > 63 || role.startsWith('-') || role.includes('$walrus$')) return badRole(args);
  process.stdout.write(grantsSql(role, { boundSlots: parsed.values['bound-slots'] === true }));
  return 0;
}

function badRole(args: readonly string[]): number {
  process.stderr.write(`walrus grants: expects one role name of 1 to 63 characters (got ${JSON.stringify(args)})\n\n${GRANTS_USAGE}`);
  return 64;
}

/** What node:util's parseArgs throws for arguments it does not accept (by its error code). */
function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

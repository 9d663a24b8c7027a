import { readFile } from 'node:fs/promises';
import pg from 'pg';
import type { MemberEndpoint } from './cluster-url.js';

/**
 * Where a registered cluster's password comes from when its URL has none
 * (README, "Operating at scale"): a file holding just the password, or a
 * libpq password file (`host:port:database:user:password` lines). Both are
 * read at every new connection, so a rotated password is picked up without
 * a restart, and neither ever travels through NATS.
 */
export type PasswordSource = { kind: 'file'; path: string } | { kind: 'passfile'; path: string };

export interface PgpassLine {
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
}

/** The lines of a libpq password file (`#` comments; `\:` and `\\` escapes; `*` matches anything). */
export function parsePgpass(text: string): PgpassLine[] {
  const out: PgpassLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    const fields: string[] = [];
    let cur = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (c === '\\' && i + 1 < raw.length) {
        cur += raw[++i];
      } else if (c === ':' && fields.length < 4) {
        fields.push(cur);
        cur = '';
      } else {
        cur += c;
      }
    }
    fields.push(cur);
    const [host, port, database, user, password] = fields;
    if (host === undefined || port === undefined || database === undefined || user === undefined || password === undefined) continue;
    out.push({ host, port, database, user, password });
  }
  return out;
}

/** The password of the first line matching, as libpq picks it; null when none does. */
export function pgpassLookup(lines: readonly PgpassLine[], want: { host: string; port: number; database: string; user: string }): string | null {
  const match = (pattern: string, value: string) => pattern === '*' || pattern === value;
  const line = lines.find((l) => match(l.host, want.host) && match(l.port, String(want.port)) && match(l.database, want.database) && match(l.user, want.user));
  return line?.password ?? null;
}

/** The user and database a member's URL connects as (libpq's defaults: the OS user, a database named like the user). */
function whoAndWhere(member: MemberEndpoint): { user: string; database: string } {
  let user = '';
  let database = '';
  try {
    const u = new URL(member.url);
    user = decodeURIComponent(u.username);
    database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    user ||= u.searchParams.get('user') ?? '';
  } catch {
    // A URL node's parser refuses (a socket directory as host): the defaults below.
  }
  user ||= process.env.USER ?? 'postgres';
  return { user, database: database || user };
}

/** The password callback node-postgres calls at each connection of `member`. */
export function passwordCallback(source: PasswordSource, member: MemberEndpoint): () => Promise<string> {
  return async () => {
    const text = await readFile(source.path, 'utf8').catch((err: unknown) => {
      throw new Error(`cannot read the cluster's ${source.kind === 'file' ? 'password file' : 'passfile'} ${JSON.stringify(source.path)}: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (source.kind === 'file') return text.replace(/\r?\n$/, '');
    const { user, database } = whoAndWhere(member);
    const password = pgpassLookup(parsePgpass(text), { host: member.host, port: member.port, database, user });
    if (password === null) throw new Error(`the passfile ${JSON.stringify(source.path)} has no line for ${member.host}:${member.port}:${database}:${user}`);
    return password;
  };
}

/**
 * A node-postgres Client class that asks `password` at each connection.
 * node-postgres lets a URL without a password override a `password` option
 * (its parsed `password: undefined` wins), so the callback is set on the
 * client itself; a pool is given the class (`Client`).
 */
export function clientWithPassword(password: () => Promise<string>): typeof pg.Client {
  return class extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      (this as unknown as { password: () => Promise<string> }).password = password;
    }
  };
}

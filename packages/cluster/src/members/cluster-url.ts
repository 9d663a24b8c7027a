/**
 * A WALRUS_CLUSTERS entry's URL, read as walrus reads it: the members it
 * lists (libpq's multi-host syntax, which node-postgres does not have), and
 * walrus's own `walrus_*` parameters (how the applier puts a size in force,
 * and where the member list comes from). Every caller (collector, applier,
 * control) uses this one reading, so a cluster has the same members
 * everywhere.
 *
 *   prod=postgres://walrus:pw@db1:5432,db2:5433,[fd00::3]/postgres?sslmode=require
 *
 * gives three members, each a single-host URL with the same user, password,
 * database and libpq parameters. A host without a port takes the last port
 * given in the list (docs/ARCHITECTURE.md §7), 5432 when none is given. A
 * member's name is `host:port` as configured (`[fd00::3]:5433` above): it is
 * what samples, status and history call the member.
 */

export type ApplyVia = 'alter_system' | 'patroni';

/** One PostgreSQL server of a cluster. */
export interface MemberEndpoint {
  /** `host:port` as configured (IPv6 in brackets); the member's name everywhere. */
  name: string;
  host: string;
  port: number;
  /** A single-host postgres:// URL for this member (may hold a password: never log it unredacted). */
  url: string;
}

/** Patroni's REST API, from `walrus_patroni_url` (one or more base URLs, comma-separated: tried in order). */
export interface PatroniApi {
  urls: string[];
  user?: string;
  password?: string;
}

export interface ClusterTopology {
  id: string;
  /** The members the URL lists (with `walrus_members=patroni`: the first guess, until Patroni answers). */
  members: MemberEndpoint[];
  /**
   * True when the entry names several members, or takes them from Patroni:
   * samples then say which member they come from in their message id too.
   */
  multiMember: boolean;
  /** Where the member list comes from: the URL, or Patroni's `GET /cluster` (re-read every sample interval). */
  membersFrom: 'url' | 'patroni';
  apply: ApplyVia;
  patroni: PatroniApi | null;
  /** The URL of a member at `host:port` (for members Patroni names): the entry's user, password, database and parameters. */
  memberUrl(host: string, port: number): string;
}

export type ParseResult = { ok: true; value: ClusterTopology } | { ok: false; problem: string };

const DEFAULT_PORT = 5432;
/** walrus's own parameters: never sent to PostgreSQL. */
const WALRUS_PARAMS = ['walrus_apply', 'walrus_patroni_url', 'walrus_patroni_user', 'walrus_patroni_password', 'walrus_members'] as const;
/** libpq parameters that choose among several hosts: meaningless for one member's connection. */
const LIST_PARAMS = ['target_session_attrs', 'load_balance_hosts'];

interface HostSpec {
  host: string;
  /** Square brackets kept out; true when the host was written as [IPv6]. */
  bracketed: boolean;
  port: number | null;
}

/** Parses one entry's URL; `problem` names the cluster and what is wrong (never the password). */
export function parseClusterUrl(id: string, url: string): ParseResult {
  const where = `WALRUS_CLUSTERS: cluster ${id}`;
  const scheme = /^(postgres(?:ql)?):\/\//.exec(url);
  if (!scheme) return { ok: false, problem: `${where} has no postgres:// or postgresql:// URL` };
  const rest = url.slice(scheme[0].length);
  const q = rest.indexOf('?');
  const beforeQuery = q < 0 ? rest : rest.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  const slash = beforeQuery.indexOf('/');
  const authority = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash);
  const path = slash < 0 ? '' : beforeQuery.slice(slash);
  // libpq's reading: user information ends at an '@' before the first '/'.
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? '' : authority.slice(0, at + 1);
  const hostList = authority.slice(at + 1);

  const walrus = walrusParams(params, where);
  if (!walrus.ok) return walrus;
  for (const p of [...WALRUS_PARAMS]) params.delete(p);
  const unknown = [...params.keys()].filter((k) => k.startsWith('walrus_'));
  if (unknown.length > 0) {
    return { ok: false, problem: `${where}: unknown URL parameter ${unknown.join(', ')} (allowed ${WALRUS_PARAMS.join(', ')})` };
  }
  const query = params.toString();
  // The other parameters exactly as written: re-encoding could change what libpq-ish text means to node-postgres.
  const kept = q < 0 ? '' : rest.slice(q + 1).split('&').filter((pair) => pair !== '' && !/^walrus_/.test(pair)).join('&');
  const stripped = `${scheme[0]}${beforeQuery}${kept ? `?${kept}` : ''}`;

  const specs = splitHosts(hostList);
  const several = specs.length > 1;
  if (several && (params.has('host') || params.has('hostaddr') || params.has('port'))) {
    return { ok: false, problem: `${where}: list the hosts and ports in the URL's host part (h1:5432,h2:5433), not as host/hostaddr/port parameters` };
  }
  const parsed: HostSpec[] = [];
  for (const text of specs) {
    const spec = parseHost(text);
    if (typeof spec === 'string') return { ok: false, problem: `${where}: ${spec}` };
    if (several && spec.host === '') return { ok: false, problem: `${where}: an empty host in the host list ${JSON.stringify(hostList)}` };
    parsed.push(spec);
  }
  // The last port given in the list is every port-less host's port.
  const lastPort = [...parsed].reverse().find((s) => s.port !== null)?.port ?? null;
  const memberParams = new URLSearchParams(query);
  for (const p of LIST_PARAMS) memberParams.delete(p);
  const memberQuery = memberParams.toString();
  const memberUrl = (host: string, port: number): string =>
    `${scheme[0]}${userinfo}${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}${path}${memberQuery ? `?${memberQuery}` : ''}`;

  const members: MemberEndpoint[] = parsed.map((s) => {
    const port = s.port ?? lastPort ?? portParam(params) ?? DEFAULT_PORT;
    const shown = s.bracketed ? `[${s.host}]` : s.host;
    // One host: the URL as given (minus walrus's parameters), so that a
    // socket directory, a host= parameter or anything else libpq-ish that
    // node-postgres understands keeps working exactly as before.
    return { name: `${shown || params.get('host') || 'localhost'}:${port}`, host: s.host, port, url: several ? memberUrl(shown, port) : stripped };
  });
  if (walrus.value.membersFrom === 'patroni' && walrus.value.apply !== 'patroni') {
    return { ok: false, problem: `${where}: walrus_members=patroni needs walrus_apply=patroni (got ${walrus.value.apply})` };
  }
  const names = new Set<string>();
  for (const m of members) {
    if (names.has(m.name)) return { ok: false, problem: `${where}: member ${m.name} is listed twice` };
    names.add(m.name);
  }
  return {
    ok: true,
    value: {
      id,
      members,
      multiMember: several || walrus.value.membersFrom === 'patroni',
      membersFrom: walrus.value.membersFrom,
      apply: walrus.value.apply,
      patroni: walrus.value.patroni,
      memberUrl,
    },
  };
}

function portParam(params: URLSearchParams): number | null {
  const p = params.get('port');
  return p !== null && /^\d{1,5}$/.test(p) ? Number(p) : null;
}

/** Splits `h1:5432,[::1]:5433,h3` on the commas outside brackets. */
function splitHosts(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      out.push(list.slice(start, i));
      start = i + 1;
    }
  }
  out.push(list.slice(start));
  return out;
}

function parseHost(text: string): HostSpec | string {
  let host: string;
  let portText: string | undefined;
  let bracketed = false;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return `host ${JSON.stringify(text)} opens a [ for an IPv6 address but does not close it`;
    host = text.slice(1, close);
    bracketed = true;
    const after = text.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return `host ${JSON.stringify(text)} has something after its IPv6 address that is not :port`;
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0 && text.indexOf(':') !== colon) return `host ${JSON.stringify(text)}: write an IPv6 address in brackets, [addr]:port`;
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(host);
  } catch {
    return `host ${JSON.stringify(text)} is not valid percent-encoding`;
  }
  if (portText === undefined || portText === '') return { host: decoded, bracketed, port: null };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return `port ${JSON.stringify(portText)} of host ${JSON.stringify(host)} is not a port (allowed 1..65535)`;
  return { host: decoded, bracketed, port };
}

type WalrusParams = { apply: ApplyVia; membersFrom: 'url' | 'patroni'; patroni: PatroniApi | null };

function walrusParams(params: URLSearchParams, where: string): { ok: true; value: WalrusParams } | { ok: false; problem: string } {
  const apply = params.get('walrus_apply') ?? 'alter_system';
  const patroniUrl = params.get('walrus_patroni_url');
  const user = params.get('walrus_patroni_user');
  const password = params.get('walrus_patroni_password');
  const members = params.get('walrus_members') ?? 'url';
  if (members !== 'url' && members !== 'patroni') {
    return { ok: false, problem: `${where}: walrus_members is invalid (got ${JSON.stringify(members)}, allowed url, patroni)` };
  }
  if (apply === 'alter_system') {
    if (patroniUrl) return { ok: false, problem: `${where}: walrus_patroni_url is set but walrus_apply is not patroni (got alter_system, allowed walrus_apply=patroni)` };
    return { ok: true, value: { apply, membersFrom: members, patroni: null } };
  }
  if (apply !== 'patroni') return { ok: false, problem: `${where}: walrus_apply is invalid (got ${JSON.stringify(apply)}, allowed alter_system, patroni)` };
  const urls = (patroniUrl ?? '').split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (urls.length === 0 || !urls.every((u) => /^https?:\/\/[^\s/]+/.test(u))) {
    return {
      ok: false,
      problem: `${where}: walrus_apply=patroni needs walrus_patroni_url (got ${JSON.stringify(patroniUrl ?? '')}, allowed http(s)://host:port of Patroni's REST API, several separated by commas)`,
    };
  }
  return {
    ok: true,
    value: {
      apply,
      membersFrom: members,
      patroni: { urls, ...(user !== null ? { user } : {}), ...(password !== null ? { password } : {}) },
    },
  };
}

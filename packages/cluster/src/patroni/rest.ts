import type { PatroniApi } from '../members/cluster-url.js';

/**
 * The two endpoints of Patroni's REST API walrus uses: `GET /cluster` (the
 * members; no authentication needed) and `PATCH /config` (the dynamic
 * configuration every member applies with a reload; basic auth when
 * `restapi.authentication` is set). Each call tries the configured base URLs
 * in order, so that one member's Patroni being away does not stop walrus.
 */

/** A refusal or absence of Patroni; `transient` ones (unreachable, 5xx) are worth retrying. */
export class PatroniError extends Error {
  override name = 'PatroniError';
  constructor(
    message: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One entry of `GET /cluster` (Patroni 3: role `leader`, `replica`, `sync_standby`, `standby_leader`). */
export interface PatroniMemberInfo {
  name: string;
  role: string;
  state: string;
  host: string;
  port: number;
  timeline: number | null;
}

function headersFor(api: PatroniApi, json: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  if (json) h['content-type'] = 'application/json';
  if (api.user !== undefined) h['authorization'] = `Basic ${Buffer.from(`${api.user}:${api.password ?? ''}`).toString('base64')}`;
  return h;
}

function unreachable(endpoint: string, err: unknown): PatroniError {
  const cause = (err as { cause?: { code?: string } }).cause;
  return new PatroniError(`Patroni REST API ${endpoint} unreachable (${cause?.code ?? (err as Error).message})`, true, { cause: err });
}

/**
 * Calls `path` on each base URL in turn until one gives an answer that is
 * not transient; throws the last error when none does.
 */
async function call(api: PatroniApi, method: 'GET' | 'PATCH', path: string, body: unknown, timeoutMs: number): Promise<unknown> {
  let last: PatroniError = new PatroniError('no Patroni REST API URL given', false);
  for (const base of api.urls) {
    const endpoint = new URL(path, base).toString();
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method,
        headers: headersFor(api, body !== undefined),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      last = unreachable(endpoint, err);
      continue;
    }
    if (res.ok) {
      const text = await res.text();
      try {
        return text === '' ? null : (JSON.parse(text) as unknown);
      } catch {
        return text;
      }
    }
    const text = (await res.text()).slice(0, 200).replace(/\s+/g, ' ');
    // 5xx: this Patroni is unwell (no leader, DCS away): another may answer. 4xx: an answer.
    last = new PatroniError(
      `Patroni ${method} ${path} at ${endpoint} answered ${res.status}${res.status === 401 ? ' (check walrus_patroni_user/walrus_patroni_password)' : ''}: ${text}`,
      res.status >= 500,
    );
    if (!last.transient) throw last;
  }
  throw last;
}

/** `PATCH /config`: Patroni stores the patch in its DCS and every member applies it (a reload) within its loop_wait. */
export async function patchPatroniConfig(api: PatroniApi, patch: unknown, timeoutMs: number): Promise<void> {
  await call(api, 'PATCH', '/config', patch, timeoutMs);
}

/** `GET /cluster`: the members Patroni knows, with where their PostgreSQL listens. */
export async function readPatroniMembers(api: PatroniApi, timeoutMs: number): Promise<PatroniMemberInfo[]> {
  const body = await call(api, 'GET', '/cluster', undefined, timeoutMs);
  const list = (body as { members?: unknown } | null)?.members;
  if (!Array.isArray(list)) throw new PatroniError('Patroni GET /cluster answered without a members list', true);
  const out: PatroniMemberInfo[] = [];
  for (const raw of list as Array<Record<string, unknown>>) {
    const host = raw['host'];
    const port = raw['port'];
    // A member that has not told where it listens yet (starting) cannot be connected to.
    if (typeof raw['name'] !== 'string' || typeof host !== 'string' || host === '' || typeof port !== 'number') continue;
    out.push({
      name: raw['name'],
      role: typeof raw['role'] === 'string' ? raw['role'] : 'unknown',
      state: typeof raw['state'] === 'string' ? raw['state'] : 'unknown',
      host,
      port,
      timeline: typeof raw['timeline'] === 'number' ? raw['timeline'] : null,
    });
  }
  return out;
}

import { alterSystemStrategy } from './alter-system.js';
import { patroniStrategy } from './patroni.js';
import type { ApplyStrategy } from './types.js';

/**
 * The strategy of one cluster comes from its URL in WALRUS_CLUSTERS:
 *
 *   prod=postgres://walrus@node1/postgres?walrus_apply=patroni&walrus_patroni_url=http://node1:8008
 *
 * with optional `walrus_patroni_user` / `walrus_patroni_password` (basic
 * auth). These `walrus_*` parameters are removed before connecting.
 */
export interface ClusterStrategy {
  /** The connection URL without walrus' own parameters. */
  url: string;
  strategy: ApplyStrategy;
}

const PARAMS = ['walrus_apply', 'walrus_patroni_url', 'walrus_patroni_user', 'walrus_patroni_password'] as const;

export function selectStrategy(clusterId: string, url: string, timeoutMs: number): { ok: true; value: ClusterStrategy } | { ok: false; problem: string } {
  const q = url.indexOf('?');
  if (q < 0) return { ok: true, value: { url, strategy: alterSystemStrategy } };
  // Only the query is parsed: a multi-host libpq URL is not a WHATWG URL.
  const params = new URLSearchParams(url.slice(q + 1));
  const apply = params.get('walrus_apply') ?? 'alter_system';
  const patroniUrl = params.get('walrus_patroni_url');
  const user = params.get('walrus_patroni_user');
  const password = params.get('walrus_patroni_password');
  for (const p of PARAMS) params.delete(p);
  const rest = params.toString();
  const stripped = url.slice(0, q) + (rest ? `?${rest}` : '');
  const where = `WALRUS_CLUSTERS: cluster ${clusterId}`;
  if (apply === 'alter_system') {
    if (patroniUrl) return { ok: false, problem: `${where}: walrus_patroni_url is set but walrus_apply is not patroni (got alter_system, allowed walrus_apply=patroni)` };
    return { ok: true, value: { url: stripped, strategy: alterSystemStrategy } };
  }
  if (apply !== 'patroni') return { ok: false, problem: `${where}: walrus_apply is invalid (got ${JSON.stringify(apply)}, allowed alter_system, patroni)` };
  if (!patroniUrl || !/^https?:\/\/[^\s/]+/.test(patroniUrl)) {
    return { ok: false, problem: `${where}: walrus_apply=patroni needs walrus_patroni_url (got ${JSON.stringify(patroniUrl ?? '')}, allowed http(s)://host:port of Patroni's REST API)` };
  }
  return {
    ok: true,
    value: {
      url: stripped,
      strategy: patroniStrategy({
        url: patroniUrl,
        ...(user !== null ? { user } : {}),
        ...(password !== null ? { password } : {}),
        timeoutMs,
      }),
    },
  };
}

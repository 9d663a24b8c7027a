import type { ClientBase } from 'pg';
import { ManagerError, type ApplyStrategy } from './types.js';

export interface PatroniTarget {
  /** Base URL of one member's REST API, e.g. http://node1:8008 (PATCH /config is forwarded cluster-wide by Patroni). */
  url: string;
  user?: string;
  password?: string;
  timeoutMs: number;
}

/**
 * Patroni owns the configuration of its members: a value in
 * postgresql.auto.conf would shadow Patroni's dynamic configuration on that
 * node only and be lost on failover. So the node's ALTER SYSTEM value is
 * reset first (and reloaded), then the size goes to Patroni's dynamic
 * configuration, which Patroni writes and reloads on every member.
 */
export function patroniStrategy(target: PatroniTarget): ApplyStrategy {
  return {
    name: 'patroni',
    async apply(client, sizeMb) {
      if (!Number.isSafeInteger(sizeMb) || sizeMb < 2 || sizeMb > 2147483647) {
        throw new RangeError(`refusing to set max_wal_size to ${String(sizeMb)} MB`);
      }
      await resetMaxWalSize(client);
      await patchConfig(target, { postgresql: { parameters: { max_wal_size: `${sizeMb.toFixed(0)}MB` } } });
    },
  };
}

async function patchConfig(t: PatroniTarget, body: unknown): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (t.user !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${t.user}:${t.password ?? ''}`).toString('base64')}`;
  }
  const endpoint = new URL('/config', t.url).toString();
  let res: Response;
  try {
    res = await fetch(endpoint, { method: 'PATCH', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(t.timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    throw new ManagerError(`Patroni REST API ${endpoint} unreachable (${cause?.code ?? (err as Error).message})`, true, { cause: err });
  }
  if (res.ok) {
    await res.body?.cancel();
    return;
  }
  const text = (await res.text()).slice(0, 200).replace(/\s+/g, ' ');
  // 5xx: Patroni itself is unwell (no leader, DCS away): worth retrying. 4xx: an answer.
  throw new ManagerError(
    `Patroni PATCH /config at ${endpoint} answered ${res.status}${res.status === 401 ? ' (check walrus_patroni_user/walrus_patroni_password)' : ''}: ${text}`,
    res.status >= 500,
  );
}

/** Removes max_wal_size from postgresql.auto.conf and reloads, so that it cannot shadow the manager's value. */
async function resetMaxWalSize(client: ClientBase): Promise<void> {
  await client.query('ALTER SYSTEM RESET max_wal_size');
  await client.query('SELECT pg_catalog.pg_reload_conf()');
}

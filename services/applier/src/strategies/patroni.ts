import type { ClientBase } from 'pg';
import { patchPatroniConfig, PatroniError, type PatroniApi } from '@walrus/cluster';
import { ManagerError, type ApplyStrategy } from './types.js';

export interface PatroniTarget {
  /** Patroni's REST API (PATCH /config is applied by every member; several URLs are tried in order). */
  api: PatroniApi;
  timeoutMs: number;
}

export interface PatroniStrategy extends ApplyStrategy {
  readonly name: 'patroni';
  /** Removes max_wal_size from the member's postgresql.auto.conf and reloads. */
  resetOn(client: ClientBase): Promise<void>;
  /** PATCH /config with the size: one call for every member. */
  patch(sizeMb: number): Promise<void>;
}

export function isPatroni(s: ApplyStrategy): s is PatroniStrategy {
  return s.name === 'patroni';
}

function checked(sizeMb: number): string {
  if (!Number.isSafeInteger(sizeMb) || sizeMb < 2 || sizeMb > 2147483647) {
    throw new RangeError(`refusing to set max_wal_size to ${String(sizeMb)} MB`);
  }
  return `${sizeMb.toFixed(0)}MB`;
}

/**
 * Patroni owns the configuration of its members: a value in
 * postgresql.auto.conf would shadow Patroni's dynamic configuration on that
 * node only (it is not replicated) and be lost on failover. So each
 * member's ALTER SYSTEM value is reset first (and reloaded), then the size
 * goes to Patroni's dynamic configuration, which Patroni writes and reloads
 * on every member. `apply` does both for the one node it is given (a
 * single-host entry, or a decision for one member).
 */
export function patroniStrategy(target: PatroniTarget): PatroniStrategy {
  const patch = async (sizeMb: number): Promise<void> => {
    const value = checked(sizeMb);
    try {
      await patchPatroniConfig(target.api, { postgresql: { parameters: { max_wal_size: value } } }, target.timeoutMs);
    } catch (err) {
      if (err instanceof PatroniError) throw new ManagerError(err.message, err.transient, { cause: err });
      throw err;
    }
  };
  return {
    name: 'patroni',
    resetOn: resetMaxWalSize,
    patch,
    async apply(client, sizeMb) {
      checked(sizeMb);
      await resetMaxWalSize(client);
      await patch(sizeMb);
    },
  };
}

async function resetMaxWalSize(client: ClientBase): Promise<void> {
  await client.query('ALTER SYSTEM RESET max_wal_size');
  await client.query('SELECT pg_catalog.pg_reload_conf()');
}

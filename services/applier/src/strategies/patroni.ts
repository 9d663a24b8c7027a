import type { ClientBase } from 'pg';
import { patchPatroniConfig, PatroniError, type PatroniApi } from '@walrus/cluster';
import { checkSlotKeep } from '../sql/max-wal-size.js';
import { ManagerError, type ApplyStrategy } from './types.js';

export interface PatroniTarget {
  /** Patroni's REST API (PATCH /config is applied by every member; several URLs are tried in order). */
  api: PatroniApi;
  timeoutMs: number;
}

export interface PatroniStrategy extends ApplyStrategy {
  readonly name: 'patroni';
  /** Removes max_wal_size (and max_slot_wal_keep_size, when walrus sets it) from the member's postgresql.auto.conf and reloads. */
  resetOn(client: ClientBase, slotKeep?: boolean): Promise<void>;
  /** PATCH /config with the size (and the keep size): one call for every member. */
  patch(sizeMb: number, slotKeepMb?: number): Promise<void>;
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
  const patch = async (sizeMb: number, slotKeepMb?: number): Promise<void> => {
    const value = checked(sizeMb);
    const keep = slotKeepMb === undefined ? {} : { max_slot_wal_keep_size: checkSlotKeep(slotKeepMb) };
    try {
      await patchPatroniConfig(target.api, { postgresql: { parameters: { max_wal_size: value, ...keep } } }, target.timeoutMs);
    } catch (err) {
      if (err instanceof PatroniError) throw new ManagerError(err.message, err.transient, { cause: err });
      throw err;
    }
  };
  return {
    name: 'patroni',
    resetOn: resetMaxWalSize,
    patch,
    async apply(client, sizeMb, slotKeepMb) {
      checked(sizeMb);
      await resetMaxWalSize(client, slotKeepMb !== undefined);
      await patch(sizeMb, slotKeepMb);
    },
  };
}

async function resetMaxWalSize(client: ClientBase, slotKeep = false): Promise<void> {
  if (slotKeep) await client.query('ALTER SYSTEM RESET max_slot_wal_keep_size');
  await client.query('ALTER SYSTEM RESET max_wal_size');
  await client.query('SELECT pg_catalog.pg_reload_conf()');
}

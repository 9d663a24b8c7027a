import type { ClientBase } from 'pg';
import { probeSqlFor, type ProbeRow } from './probe-query.js';
import { readServerVersion } from './read-sample.js';

/** What a pressure probe reads: two cumulative numbers, comparable with the last sample's. */
export interface PressureProbe {
  /** As Sample.checkpoints_requested. */
  checkpointsRequested: number;
  /** As Sample.wal_bytes. */
  walBytes: number;
  /** As Sample.checkpoint_redo_bytes; null when the server does not tell. */
  redoBytes: number | null;
  /** The caller's clock when the result arrived, as Sample.collected_at. */
  at: Date;
}

/**
 * One pressure probe (probe-query.ts). Like readSample, run it outside an
 * explicit transaction, and on a connection whose server readSample has
 * accepted (the version is looked up once per connection).
 */
export async function readPressureProbe(client: ClientBase, now: () => Date): Promise<PressureProbe> {
  const version = await readServerVersion(client);
  const { rows } = await client.query<ProbeRow>(probeSqlFor(version));
  const at = now();
  const row = rows[0];
  if (!row) throw new Error('the probe statement returned no row');
  const requested = Number(row.checkpoints_requested);
  const walBytes = Number(row.wal_bytes ?? NaN);
  if (!Number.isSafeInteger(requested) || requested < 0) throw new RangeError(`checkpoints_requested is not a non-negative integer: ${JSON.stringify(row.checkpoints_requested)}`);
  if (!Number.isFinite(walBytes) || walBytes < 0) throw new RangeError(`wal_bytes is not a byte position: ${JSON.stringify(row.wal_bytes)}`);
  const redo = Number(row.checkpoint_redo_bytes ?? NaN);
  return { checkpointsRequested: requested, walBytes, redoBytes: Number.isFinite(redo) && redo >= 0 ? redo : null, at };
}

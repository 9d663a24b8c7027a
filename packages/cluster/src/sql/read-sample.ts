import type { ClientBase } from 'pg';
import type { Sample } from '@walrus/core';
import { MIN_SERVER_VERSION_NUM, ROLE_SQL, SERVER_VERSION_SQL, sampleSqlFor, timelineOf, type RoleRow, type SampleRow } from './sample-query.js';
import { settingToMb, settingToSeconds } from './units.js';

/** The server answered, but not with something a Sample can be made of. */
export class SampleReadError extends Error {
  override name = 'SampleReadError';
  constructor(
    message: string,
    readonly cluster: string,
    options?: { cause?: unknown },
  ) {
    super(`cluster ${cluster}: ${message}`, options);
  }
}

/** The server is older than walrus supports (15). */
export class UnsupportedServerError extends Error {
  override name = 'UnsupportedServerError';
  constructor(
    readonly cluster: string,
    readonly serverVersionNum: number,
  ) {
    super(`cluster ${cluster}: PostgreSQL server_version_num ${serverVersionNum} is not supported (15 or later is required)`);
  }
}

const WALRUS_PARAM = /^walrus\.[a-z_]+$/;

// One lookup per connection: a session's server cannot change version.
const serverVersions = new WeakMap<ClientBase, number>();

/** `server_version_num` of the client's server, queried once per client and cached. */
export async function readServerVersion(client: ClientBase): Promise<number> {
  const cached = serverVersions.get(client);
  if (cached !== undefined) return cached;
  const { rows } = await client.query<{ server_version_num: string }>(SERVER_VERSION_SQL);
  const text = rows[0]?.server_version_num;
  const version = Number(text);
  if (!Number.isSafeInteger(version) || version <= 0) {
    throw new Error(`server_version_num is not a positive integer: ${JSON.stringify(text)}`);
  }
  serverVersions.set(client, version);
  return version;
}

/**
 * Reads one Sample v1 (ARCHITECTURE §2): the version lookup once per
 * connection, then one statement per sample.
 *
 * `collected_at` is `now()` — the caller's (injected) clock — read as soon
 * as the statement's result arrives, not the server's clock_timestamp():
 * - one cluster's samples share one clock this way: a cluster's members
 *   (a primary and its standbys, whose samples interleave in the cluster's
 *   stream) are different servers with clocks of their own, and after a
 *   failover the counters come from another server; the collector that
 *   samples them all stamps them all;
 * - decided_at, applied_at, the deciders' check of a sample's time and the
 *   appliers' expiry run on service clocks, so sample_at must be on the same
 *   kind of clock to be comparable with them: a monitored server whose clock
 *   is off (or a fleet of clusters with different clocks) must not make
 *   decisions look stale or fresh, nor have its samples refused;
 * - a service host's clock is the operator's to keep right, the same way for
 *   every service; a managed database's is not.
 * A collector clock that jumps is the deciders' concern (engine/clock.ts in
 * @walrus/core: a sample dated ahead of them is refused, a clock that went
 * back re-baselines the cluster). The statistics are at most one round trip
 * older than this instant.
 *
 * Run it outside an explicit transaction: with the default
 * stats_fetch_consistency = cache, a transaction would keep seeing the
 * statistics snapshot of its first read.
 */
export async function readSample(
  client: ClientBase,
  cluster: string,
  walrusParamNames: readonly string[],
  now: () => Date,
  /** The member the client is connected to (`host:port`), named in the sample. */
  options: { member?: string } = {},
): Promise<Sample> {
  const invalid = walrusParamNames.filter((name) => !WALRUS_PARAM.test(name));
  if (invalid.length > 0) {
    throw new TypeError(`walrus parameter names must match ${String(WALRUS_PARAM)}: ${invalid.map((n) => JSON.stringify(n)).join(', ')}`);
  }
  const version = await readServerVersion(client);
  if (version < MIN_SERVER_VERSION_NUM) throw new UnsupportedServerError(cluster, version);

  const { rows } = await client.query<SampleRow>(sampleSqlFor(version), [[...new Set(walrusParamNames)]]);
  const collectedAt = now();
  const row = rows[0];
  if (!row) throw new SampleReadError('the sample statement returned no row', cluster);
  try {
    const sample = toSample(row, cluster, collectedAt);
    return options.member === undefined ? sample : { ...sample, member: options.member };
  } catch (err) {
    if (err instanceof SampleReadError) throw err;
    throw new SampleReadError(err instanceof Error ? err.message : String(err), cluster, { cause: err });
  }
}

function count(text: string, field: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${field} is not a non-negative integer: ${JSON.stringify(text)}`);
  return value;
}

function parseSettings(text: string): Record<string, string> {
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TypeError('settings is not a JSON object');
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') throw new TypeError(`setting ${name} is not text`);
    settings[name] = value;
  }
  return settings;
}

function toSample(row: SampleRow, cluster: string, collectedAt: Date): Sample {
  if (row.wal_lsn === null || row.wal_bytes === null) {
    // pg_last_wal_replay_lsn() is NULL on a standby that has not replayed anything yet.
    throw new SampleReadError('no WAL position yet (standby before its first replayed record)', cluster);
  }
  const completionTarget = Number(row.checkpoint_completion_target);
  if (!Number.isFinite(completionTarget)) throw new RangeError(`checkpoint_completion_target is not a number: ${row.checkpoint_completion_target}`);
  const walBytes = Number(row.wal_bytes);
  if (!Number.isFinite(walBytes) || walBytes < 0) throw new RangeError(`wal_bytes is not a byte position: ${row.wal_bytes}`);
  return {
    v: 1,
    cluster,
    collected_at: collectedAt.toISOString(),
    server_version_num: count(row.server_version_num, 'server_version_num'),
    in_recovery: row.in_recovery === 'true',
    checkpoints_requested: count(row.checkpoints_requested, 'checkpoints_requested'),
    checkpoints_timed: count(row.checkpoints_timed, 'checkpoints_timed'),
    stats_reset: row.stats_reset,
    wal_lsn: row.wal_lsn,
    wal_bytes: walBytes,
    max_wal_size_mb: settingToMb(row.max_wal_size, row.max_wal_size_unit, 'max_wal_size'),
    checkpoint_timeout_s: settingToSeconds(row.checkpoint_timeout, row.checkpoint_timeout_unit, 'checkpoint_timeout'),
    checkpoint_completion_target: completionTarget,
    settings: parseSettings(row.settings),
    ...optionalCheckpointFields(row),
    ...effectFields(row),
    ...versionCounters(row),
    ...timelineField(row),
  };
}

function timelineField(row: SampleRow): Pick<Sample, 'timeline'> {
  const timeline = timelineOf(row);
  return timeline === null ? {} : { timeline };
}

/** Whether the connected server is in recovery, and its timeline (null when it tells none). */
export async function readRole(client: ClientBase): Promise<{ inRecovery: boolean; timeline: number | null }> {
  const { rows } = await client.query<RoleRow>(ROLE_SQL);
  const row = rows[0];
  if (!row) throw new Error('the role statement returned no row');
  return { inRecovery: row.in_recovery === 'true', timeline: timelineOf(row) };
}

type VersionCounters = Pick<Sample, 'checkpoints_done' | 'restartpoints_requested' | 'restartpoints_timed' | 'restartpoints_done'>;

/** 18's num_done and 17+'s restartpoint counters, where the server has them (NULL otherwise). */
function versionCounters(row: SampleRow): VersionCounters {
  const out: VersionCounters = {};
  for (const key of ['checkpoints_done', 'restartpoints_requested', 'restartpoints_timed', 'restartpoints_done'] as const) {
    const text = row[key];
    if (text !== null) out[key] = count(text, key);
  }
  return out;
}

/** The optional fields are left out rather than failing the sample when a server does not give them. */
function optionalCheckpointFields(row: SampleRow): Pick<Sample, 'checkpoint_redo_bytes' | 'wal_segment_size_bytes'> {
  const out: Pick<Sample, 'checkpoint_redo_bytes' | 'wal_segment_size_bytes'> = {};
  const redo = Number(row.checkpoint_redo_bytes ?? NaN);
  if (row.checkpoint_redo_bytes !== null && Number.isFinite(redo) && redo >= 0) out.checkpoint_redo_bytes = redo;
  const seg = Number(row.wal_segment_size ?? NaN);
  const unitBytes = row.wal_segment_size_unit === 'B' ? 1 : row.wal_segment_size_unit === '8kB' ? 8192 : NaN;
  if (Number.isSafeInteger(seg * unitBytes) && seg * unitBytes > 0) out.wal_segment_size_bytes = seg * unitBytes;
  return out;
}

/** What a change's effect is measured with (engine/effect.ts); each left out when the server gives none. */
function effectFields(row: SampleRow): Pick<Sample, 'checkpoint_write_time_ms' | 'checkpoint_sync_time_ms' | 'wal_fpi' | 'xact_commit'> {
  const out: Pick<Sample, 'checkpoint_write_time_ms' | 'checkpoint_sync_time_ms' | 'wal_fpi' | 'xact_commit'> = {};
  const num = (text: string | null): number | null => {
    const n = Number(text ?? NaN);
    return text !== null && Number.isFinite(n) && n >= 0 ? n : null;
  };
  const write = num(row.checkpoint_write_time_ms);
  const sync = num(row.checkpoint_sync_time_ms);
  const fpi = num(row.wal_fpi);
  const xact = num(row.xact_commit);
  if (write !== null) out.checkpoint_write_time_ms = write;
  if (sync !== null) out.checkpoint_sync_time_ms = sync;
  if (fpi !== null && Number.isSafeInteger(fpi)) out.wal_fpi = fpi;
  if (xact !== null && Number.isSafeInteger(xact)) out.xact_commit = xact;
  return out;
}

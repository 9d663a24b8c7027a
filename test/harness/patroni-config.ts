import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Debian's PostgreSQL lives in /usr/lib/postgresql/<major>/bin. */
const DEBIAN_PG = '/usr/lib/postgresql';

/**
 * The newest Debian PostgreSQL with everything Patroni runs: initdb, pg_ctl,
 * postgres, and pg_basebackup / pg_rewind / pg_controldata, which the
 * embedded npm builds (the harness's other PostgreSQL) do not ship.
 */
export function debianPostgres(): { version: number; binDir: string } {
  const versions = (existsSync(DEBIAN_PG) ? readdirSync(DEBIAN_PG) : [])
    .filter((v) => /^\d+$/.test(v) && ['postgres', 'pg_basebackup', 'pg_rewind', 'pg_controldata'].every((b) => existsSync(join(DEBIAN_PG, v, 'bin', b))))
    .map(Number)
    .sort((a, b) => b - a);
  const version = versions[0];
  if (version === undefined) {
    throw new Error(`no Debian PostgreSQL server under ${DEBIAN_PG}/<major>/bin (apt-get install postgresql): Patroni needs pg_basebackup, pg_rewind and pg_controldata`);
  }
  return { version, binDir: join(DEBIAN_PG, String(version), 'bin') };
}

export interface Credentials {
  username: string;
  password: string;
}

export interface MemberConfigInput {
  scope: string;
  name: string;
  /** Member directory (owned by the OS user Patroni runs as). */
  dir: string;
  dataDir: string;
  pgLogDir: string;
  pgPort: number;
  apiPort: number;
  etcdHost: string;
  binDir: string;
  restapi: Credentials;
  superuser: Credentials;
  replication: Credentials;
  /** Merged over the harness's `bootstrap.dcs` (Patroni's dynamic configuration, written once by the bootstrapping member). */
  dcs?: Readonly<Record<string, unknown>>;
  /** Merged over the harness's `bootstrap.dcs.postgresql.parameters`. */
  parameters?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The dynamic configuration the cluster bootstraps with (stored in etcd;
 * `PATCH /config` changes it later). Chosen so that tests run fast:
 *
 * - `loop_wait` 2 s: a PATCH reaches every member within ~2 s (a reload each);
 *   `ttl` 10 s: a crashed leader's key expires after at most 10 s;
 *   `retry_timeout` 4 s keeps `loop_wait + 2 * retry_timeout <= ttl`.
 * - `primary_start_timeout` 0: a primary whose postmaster crashed (kill -9)
 *   is not restarted in place but demoted at once, and a healthy replica is
 *   promoted (Patroni's default, 300, restarts the crashed primary and fails
 *   over only if that takes 300 s). PATCH it to 300 to see a restart in place.
 * - `maximum_lag_on_failover` 16 MB (default 1 MB) so that a replica under
 *   write load is still a failover candidate.
 * - `wal_keep_size` 512 MB, so that a member rejoining after a promotion
 *   under write load finds the WAL it needs (see below).
 * - `max_wal_size` 32 MB / `checkpoint_timeout` 30 s here, not in the
 *   members' local `postgresql.parameters`: a local value would win over the
 *   dynamic one and PATCH /config could not change it. Patroni gives only its
 *   CMDLINE_OPTIONS (port, listen_addresses, wal_level, hot_standby,
 *   max_connections, max_wal_senders, wal_keep_size, max_replication_slots,
 *   ...) on the postmaster's command line; max_wal_size is not among them.
 */
export function bootstrapDcs(input: Pick<MemberConfigInput, 'dcs' | 'parameters'>): Record<string, unknown> {
  const { postgresql: extraPostgresql, ...extraDcs } = (input.dcs ?? {}) as { postgresql?: Record<string, unknown> } & Record<string, unknown>;
  const { parameters: extraParams, ...restPostgresql } = (extraPostgresql ?? {}) as { parameters?: Record<string, unknown> } & Record<string, unknown>;
  return {
    ttl: 10,
    loop_wait: 2,
    retry_timeout: 4,
    primary_start_timeout: 0,
    maximum_lag_on_failover: 16 * 1024 * 1024,
    ...extraDcs,
    postgresql: {
      use_pg_rewind: true,
      use_slots: true,
      ...restPostgresql,
      parameters: {
        max_wal_size: '32MB',
        checkpoint_timeout: '30s',
        // A member that rejoins after a switchover or failover (pg_rewind, then
        // streaming) asks the new leader for WAL from just before the
        // promotion; at 32 MB under a write load the new leader recycles those
        // segments within seconds, before Patroni has made a slot for it
        // ("requested WAL segment ... has already been removed", seen on CI).
        wal_keep_size: '512MB',
        ...extraParams,
        ...input.parameters,
      },
    },
  };
}

/** One member's Patroni configuration file (JSON, which Patroni's YAML parser reads). */
export function memberConfig(input: MemberConfigInput): Record<string, unknown> {
  const api = `127.0.0.1:${input.apiPort}`;
  const pg = `127.0.0.1:${input.pgPort}`;
  return {
    scope: input.scope,
    // A prefix of its own in etcd, so several clusters can share one etcd.
    namespace: '/walrus-test/',
    name: input.name,
    log: { level: 'INFO', format: '%(asctime)s %(levelname)s: %(message)s' },
    restapi: { listen: api, connect_address: api, authentication: input.restapi },
    etcd3: { hosts: input.etcdHost },
    bootstrap: {
      dcs: bootstrapDcs(input),
      initdb: [{ encoding: 'UTF8' }, 'no-locale', 'no-sync'],
    },
    postgresql: {
      listen: pg,
      connect_address: pg,
      data_dir: input.dataDir,
      bin_dir: input.binDir,
      // Not the postgres user's ~/.pgpass: nothing of the machine's is touched.
      pgpass: `${input.dir}/pgpass`,
      use_unix_socket: true,
      authentication: {
        superuser: input.superuser,
        replication: input.replication,
      },
      // An immediate checkpoint for the replica's base backup, not a spread
      // one (which waits up to checkpoint_timeout * completion_target).
      basebackup: [{ checkpoint: 'fast' }],
      pg_hba: [
        'local all all trust',
        `host replication ${input.replication.username} 127.0.0.1/32 scram-sha-256`,
        'host all all 127.0.0.1/32 scram-sha-256',
      ],
      // Local settings: they win over the dynamic configuration, so only
      // what walrus never tunes goes here.
      parameters: {
        unix_socket_directories: input.dir,
        fsync: 'off',
        shared_buffers: '32MB',
        // DSM segments as files in the data directory, not in /dev/shm.
        dynamic_shared_memory_type: 'mmap',
        logging_collector: 'on',
        log_directory: input.pgLogDir,
        log_filename: 'postgresql.log',
        log_rotation_age: 0,
        log_rotation_size: 0,
        log_line_prefix: '%m [%p] %q%u@%d ',
        log_checkpoints: 'on',
      },
    },
    watchdog: { mode: 'off' },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
}

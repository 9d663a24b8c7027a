import { execFile as execFileCb } from 'node:child_process';
import { copyFile, lstat, mkdir, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { baseSettings, ClusterImpl, newInstance, writeConf, type Instance, type PostgresCluster, type PostgresOptions } from './postgres.js';
import type { RunAs } from './run-as.js';
import { waitFor } from './wait.js';

const execFile = promisify(execFileCb);

export interface Standby extends PostgresCluster {
  readonly primary: PostgresCluster;
  /** The physical replication slot on the primary. */
  readonly slotName: string;
  /** `pg_promote()`, then waits until the standby is out of recovery. */
  promote(): Promise<void>;
}

async function chownTree(path: string, owner: RunAs | null): Promise<void> {
  if (owner) await execFile('chown', ['-R', `${owner.uid}:${owner.gid}`, path]);
}


// Directories whose contents a base backup leaves out (as pg_basebackup does).
const SKIP_CONTENTS = new Set(['pg_wal', 'pg_replslot', 'pg_stat_tmp', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans']);
const SKIP_FILES = new Set(['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map', 'standby.signal', 'recovery.signal']);

/** Recursive copy of a running cluster's files that tolerates files vanishing under it. */
async function copyLive(from: string, to: string, depth = 0, mode = 0o700): Promise<void> {
  // PostgreSQL insists on 0700 (or 0750) for the data directory.
  await mkdir(to, { mode });
  const names = await readdir(from).catch(() => [] as string[]);
  for (const name of names) {
    if (depth === 0 && SKIP_FILES.has(name)) continue;
    if (name.startsWith('pgsql_tmp')) continue;
    const src = join(from, name);
    const dst = join(to, name);
    try {
      const st = await lstat(src);
      if (st.isDirectory()) {
        if (depth === 0 && SKIP_CONTENTS.has(name)) await mkdir(dst, { mode: st.mode & 0o777 });
        else await copyLive(src, dst, depth + 1, st.mode & 0o777);
      } else if (st.isSymbolicLink()) {
        await symlink(await readlink(src), dst);
      } else if (st.isFile()) {
        await copyFile(src, dst);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

let standbyCount = 0;

/**
 * A streaming hot standby of `primary` (same version), made without
 * pg_basebackup (not in the npm packages): a non-exclusive base backup
 * (pg_backup_start / a live file copy / pg_backup_stop's backup_label) plus a
 * physical replication slot so that the primary keeps the WAL the standby
 * still needs. Resolves when the standby streams from the primary.
 */
export async function createStandby(primary: PostgresCluster, options: Omit<PostgresOptions, 'version'> = {}): Promise<Standby> {
  const version = primary.version;
  const inst = await newInstance(version, `pg${version}-standby-`, options.args, options.timeoutMs);
  const slotName = `walrus_standby_${process.pid}_${++standbyCount}`;
  await primary.query('SELECT pg_create_physical_replication_slot($1, true)', [slotName]);

  const backup = await primary.connect();
  try {
    // fast => an immediate checkpoint now instead of a spread one.
    await backup.query("SELECT pg_backup_start('walrus-test-standby', true)");
    await copyLive(primary.dataDir, inst.dataDir);
    const { rows } = await backup.query<{ labelfile: string; spcmapfile: string | null }>('SELECT labelfile, spcmapfile FROM pg_backup_stop(false)');
    const stop = rows[0];
    if (!stop) throw new Error('pg_backup_stop returned no row');
    await writeFile(join(inst.dataDir, 'backup_label'), stop.labelfile);
    if (stop.spcmapfile) await writeFile(join(inst.dataDir, 'tablespace_map'), stop.spcmapfile);
  } finally {
    await backup.end();
  }
  await mkdir(join(inst.dataDir, 'pg_wal', 'archive_status'), { recursive: true });
  await writeFile(join(inst.dataDir, 'standby.signal'), '');
  await writeConf(inst, {
    ...baseSettings(inst),
    ...options.config,
    hot_standby: 'on',
    primary_conninfo: `host=127.0.0.1 port=${primary.port} user=postgres application_name=${slotName}`,
    primary_slot_name: slotName,
  });
  await chownTree(inst.dataDir, inst.runAs);

  const cluster = new StandbyImpl(inst, primary, slotName);
  try {
    await cluster.start();
    await waitFor(
      async () => (await cluster.query<{ status: string }>('SELECT status FROM pg_stat_wal_receiver'))[0]?.status === 'streaming',
      { what: `standby of PostgreSQL ${version} to stream from port ${primary.port}`, timeoutMs: inst.timeoutMs },
    );
    return cluster;
  } catch (err) {
    await cluster.cleanup();
    throw err;
  }
}

class StandbyImpl extends ClusterImpl implements Standby {
  constructor(
    inst: Instance,
    readonly primary: PostgresCluster,
    readonly slotName: string,
  ) {
    super(inst);
  }

  async promote(): Promise<void> {
    // pg_promote() without waiting, then a poll: under write load the replay
    // of what the primary sent last cancels statements that hold a snapshot
    // for long ("conflict with recovery", SQLSTATE 40001), as a waiting
    // pg_promote(true) does; the poll's short queries are simply asked again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.query('SELECT pg_promote(false)');
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== '40001' || attempt >= 5) throw err;
      }
    }
    await waitFor(async () => (await this.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0]?.r === false, {
      what: `standby on port ${this.port} to leave recovery`,
      timeoutMs: this.inst.timeoutMs,
    });
  }

  override async cleanup(): Promise<void> {
    await super.cleanup();
    // A forgotten slot would hold WAL on the primary for ever.
    // Its walsender may take a moment to notice the standby is gone.
    if (this.primary.running) {
      await waitFor(
        async () => {
          const rows = await this.primary.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [this.slotName]);
          if (rows[0]?.active === false) await this.primary.query('SELECT pg_drop_replication_slot($1)', [this.slotName]);
          return rows.length === 0 || rows[0]?.active === false;
        },
        { what: `replication slot ${this.slotName} to be dropped`, timeoutMs: 10_000 },
      ).catch(() => undefined);
    }
  }
}

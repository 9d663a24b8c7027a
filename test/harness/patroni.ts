// The harness's choices (temporary directories named walrus-test-*, cleanup on signals) before anything starts.
import './mod.js';
import { execFile as execFileCb } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEtcd, type Etcd } from './etcd.js';
import { debianPostgres, memberConfig, type Credentials } from './patroni-config.js';
import { PatroniMember, type Role } from './patroni-member.js';
import { freePort, logTail, makeTempDir, postgresRunAs, registerCleanup, waitFor } from '@walrus/servers';
import { registerLogFile, snapshotLogFiles } from './logs.js';
import { defined } from './defined.js';

export { PatroniMember, type Role } from './patroni-member.js';
export { bootstrapDcs, debianPostgres } from './patroni-config.js';

const execFile = promisify(execFileCb);
export const PATRONICTL_BIN = '/usr/bin/patronictl';

/** Wait limits of the cluster's waits: a timeout (default 60 s) and an abort signal. */
export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface PatroniClusterOptions {
  /** Number of members, default 2. */
  members?: number;
  /** An etcd to use (and leave running); default: a new one, removed with the cluster. */
  etcd?: Etcd;
  /** Merged over the harness's dynamic configuration (see `bootstrapDcs`). */
  dcs?: Readonly<Record<string, unknown>>;
  /** Merged over its `postgresql.parameters` (e.g. `{ max_wal_size: '64MB' }`). */
  parameters?: Readonly<Record<string, string | number | boolean>>;
  /** Timeout of the whole start (bootstrap, replicas streaming), default 120 s. */
  timeoutMs?: number;
}

/** One entry of Patroni's `GET /cluster`, with the harness's handle of that member. */
export interface MemberStatus {
  name: string;
  role: 'leader' | 'replica' | 'sync_standby' | 'standby_leader';
  /** `running`, `starting`, `stopped`, `crashed`, `creating replica`, ... */
  state: string;
  host?: string;
  port?: number;
  api_url?: string;
  timeline?: number;
  lag?: number | 'unknown';
  pending_restart?: boolean;
  member: PatroniMember;
}

export interface Timelines {
  /** The timeline PostgreSQL writes (a primary: of pg_current_wal_lsn(); a standby: the one it receives, pg_stat_wal_receiver.received_tli, null while not streaming). */
  current: number | null;
  /** pg_control_checkpoint().timeline_id: of the last checkpoint (restartpoint on a standby). */
  checkpoint: number;
}

export interface PatroniCluster {
  /** Patroni's `scope` (the cluster's name in etcd). */
  readonly scope: string;
  readonly etcd: Etcd;
  /** Every member the harness started, running or not, in name order (m1, m2, ...). */
  readonly nodes: readonly PatroniMember[];
  /** Debian's PostgreSQL major version that the members run. */
  readonly pgVersion: number;
  /** `restapi.authentication` (basic auth for PATCH /config, POST /switchover, ...). */
  readonly restapiAuth: Credentials;
  /** The least-privilege role `walrus` (created after bootstrap) and the superuser. */
  readonly credentials: Readonly<Record<Role, Credentials>>;
  /** libpq multi-host URL of every member for the walrus role: postgres://walrus:pw@127.0.0.1:P1,127.0.0.1:P2/postgres */
  readonly multiHostUrl: string;
  member(name: string): PatroniMember;
  /** `GET /cluster` from the first member that answers. */
  members(): Promise<MemberStatus[]>;
  /** The member `GET /cluster` names leader, if any. */
  leader(): Promise<PatroniMember | undefined>;
  /**
   * Waits for a leader (other than `not`, when given) that `GET /cluster`
   * names, that Patroni reports `running`, and whose PostgreSQL is out of
   * recovery and takes a write.
   */
  waitForLeader(options?: WaitOptions & { not?: PatroniMember | string }): Promise<PatroniMember>;
  /**
   * Waits until every member whose Patroni runs (or `members`) is either the
   * leader or a replica streaming from it: Patroni says `replica`/`running`
   * (it says `creating replica` or `starting` for a while after PostgreSQL
   * already streams) and pg_stat_wal_receiver says `streaming` from the
   * leader's port on the leader's current timeline.
   */
  waitForMembersStreaming(options?: WaitOptions & { members?: readonly PatroniMember[] }): Promise<void>;
  /** `GET /config`: the dynamic configuration in etcd. */
  config(): Promise<Record<string, unknown>>;
  /** `PATCH /config` with basic auth; resolves with the new dynamic configuration (throws on a non-2xx answer). */
  patchConfig(patch: unknown): Promise<Record<string, unknown>>;
  /**
   * `patchConfig`, then waits until the Patroni of every member whose
   * PostgreSQL runs has applied it: the patch carries a marker,
   * `walrus_harness.generation` (a custom setting) in
   * `postgresql.parameters`, and Patroni applies the whole dynamic
   * configuration (its own settings such as `primary_start_timeout` too) in
   * the loop that reloads PostgreSQL with it.
   */
  patchConfigAndWait(patch: Readonly<Record<string, unknown>>, options?: WaitOptions): Promise<Record<string, unknown>>;
  /** `patronictl -c <a member's config> ...args`; resolves with its stdout. */
  patronictl(...args: string[]): Promise<string>;
  /**
   * `patronictl switchover --force` from the current leader to `to` (default:
   * the first other running member); resolves when `to` leads and takes writes.
   * The old leader is restarted by Patroni as a replica (not waited for:
   * `waitForMembersStreaming()`).
   */
  switchover(to?: PatroniMember | string): Promise<{ from: PatroniMember; to: PatroniMember }>;
  /**
   * `kill -9` of the leader's postmaster only (Patroni keeps running); does
   * not wait. With the harness's `primary_start_timeout: 0`, Patroni notices
   * at its next loop ("Primary crashed. Failing over."), releases the leader
   * key and a replica is promoted: a failover (`waitForLeader({ not })`); the
   * old leader comes back as a replica by itself. With
   * `primary_start_timeout` > 0 (Patroni's default, 300; set it with
   * `patchConfigAndWait`) Patroni restarts PostgreSQL on the same member:
   * crash recovery, started read-only, then promoted again, so the same
   * leader but on the next timeline.
   */
  killPrimaryPostmaster(): Promise<{ member: PatroniMember; pid: number }>;
  /**
   * SIGKILL of the leader's Patroni and PostgreSQL at once (a crashed host);
   * does not wait. The leader key expires after `ttl` (10 s) and a replica
   * is promoted. `member.start()` brings it back: Patroni runs crash
   * recovery, pg_rewind if it had diverged, and it rejoins as a replica.
   */
  killLeader(): Promise<PatroniMember>;
  /** Timelines of one member's PostgreSQL (see `Timelines`). */
  timelines(member: PatroniMember): Promise<Timelines>;
  /** Tails of etcd's, and every member's Patroni and PostgreSQL, logs. */
  logs(lines?: number): Promise<string>;
  /** Kills every member (and the etcd the cluster started) and removes their directories. */
  stop(): Promise<void>;
}

function secret(): string {
  return randomBytes(12).toString('hex');
}

let clusterCount = 0;

/** The custom setting `patchConfigAndWait` marks each patch with. */
const GENERATION = 'walrus_harness.generation';

/**
 * An N-member (default 2) Patroni cluster (Debian's `patroni`, on Debian's
 * PostgreSQL) over a one-node etcd, on free 127.0.0.1 ports. Resolves when
 * one member leads and takes writes, every other member streams from it,
 * and the `walrus` role exists on all of them.
 */
export async function startPatroniCluster(options: PatroniClusterOptions = {}): Promise<PatroniCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      // Someone took a port between freePort() and bind() (the REST API, or
      // PostgreSQL's, which fails the bootstrap): start again on new ones.
      if (attempt >= 3 || !/address already in use|could not bind/i.test(err instanceof Error ? err.message : '')) throw err;
    }
  }
}

async function startOnce(options: PatroniClusterOptions): Promise<PatroniCluster> {
  const count = options.members ?? 2;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const { version: pgVersion, binDir } = debianPostgres();
  const runAs = postgresRunAs();
  const ownEtcd = options.etcd === undefined;
  const etcd = options.etcd ?? (await startEtcd());
  const scope = `walrus-${process.pid}-${++clusterCount}`;
  const restapiAuth: Credentials = { username: 'patroni', password: secret() };
  const credentials: Record<Role, Credentials> = {
    superuser: { username: 'postgres', password: secret() },
    walrus: { username: 'walrus', password: secret() },
  };
  const replication: Credentials = { username: 'replicator', password: secret() };

  const nodes: PatroniMember[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    unregister();
    // The members' logs stay readable for a failure report (logs.ts) once their directories are gone.
    snapshotLogFiles();
    await Promise.allSettled(nodes.map((m) => m.cleanup()));
    if (ownEtcd) await etcd.cleanup();
  };
  const unregister = registerCleanup(stop, { name: `Patroni cluster ${scope}` });

  try {
    for (let i = 1; i <= count; i++) {
      const name = `m${i}`;
      const dir = makeTempDir(`patroni-${name}-`, runAs);
      const pgLogDir = join(dir, 'log');
      mkdirSync(pgLogDir, { mode: 0o700 });
      const configFile = join(dir, 'patroni.json');
      const [pgPort, apiPort] = [await freePort(), await freePort()];
      const config = memberConfig({
        scope,
        name,
        dir,
        dataDir: join(dir, 'data'),
        pgLogDir,
        pgPort,
        apiPort,
        etcdHost: etcd.host,
        binDir,
        restapi: restapiAuth,
        superuser: credentials.superuser,
        replication,
        dcs: options.dcs,
        parameters: options.parameters,
      });
      writeFileSync(configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
      if (runAs) {
        chownSync(configFile, runAs.uid, runAs.gid);
        chownSync(pgLogDir, runAs.uid, runAs.gid);
      }
      const node = new PatroniMember({
        name,
        dir,
        dataDir: join(dir, 'data'),
        configFile,
        patroniLogFile: join(dir, 'patroni.log'),
        postgresLogFile: join(pgLogDir, 'postgresql.log'),
        pgPort,
        apiPort,
        runAs,
        credentials,
        restapi: restapiAuth,
      });
      nodes.push(node);
      registerLogFile(`Patroni ${scope} ${name}`, node.patroniLogFile, () => node.running);
      registerLogFile(`PostgreSQL of Patroni ${scope} ${name}`, node.postgresLogFile, () => node.running);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const member = (name: string): PatroniMember => {
    const found = nodes.find((m) => m.name === name);
    if (!found) throw new Error(`Patroni cluster ${scope} has no member ${name} (members: ${nodes.map((m) => m.name).join(', ')})`);
    return found;
  };
  const resolve = (m: PatroniMember | string): PatroniMember => (typeof m === 'string' ? member(m) : m);

  const members = async (): Promise<MemberStatus[]> => {
    let lastError: unknown = new Error('no member runs');
    for (const m of nodes.filter((n) => n.running)) {
      try {
        const res = await m.api('/cluster', { timeoutMs: 5_000 });
        if (!res.ok) throw new Error(`GET ${m.apiUrl}/cluster: ${res.status} ${await res.text()}`);
        const body = (await res.json()) as { members?: Array<Omit<MemberStatus, 'member'>> };
        return (body.members ?? []).flatMap((s) => {
          const handle = nodes.find((n) => n.name === s.name);
          return handle ? [{ ...s, member: handle }] : [];
        });
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  };

  const leader = async (): Promise<PatroniMember | undefined> => (await members()).find((s) => s.role === 'leader')?.member;

  const failIfAllExited = (): void => {
    if (nodes.every((n) => !n.running)) throw new Error('every Patroni member has exited');
  };

  /** The leader /cluster names (other than `not`), if Patroni says it runs and its PostgreSQL takes a write. */
  const writableLeader = async (not?: string): Promise<PatroniMember | undefined> => {
    failIfAllExited();
    const lead = (await members()).find((s) => s.role === 'leader' && s.state === 'running' && s.name !== not);
    if (!lead) return undefined;
    // A write needs an xid: refused during recovery, and by a primary that is being demoted.
    const rows = await lead.member.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r, txid_current() AS x');
    return rows[0]?.r === false ? lead.member : undefined;
  };

  const waitForLeader = async (opts: WaitOptions & { not?: PatroniMember | string } = {}): Promise<PatroniMember> => {
    const not = opts.not === undefined ? undefined : resolve(opts.not).name;
    return waitFor(() => writableLeader(not), {
      what: `a Patroni leader${not ? ` other than ${not}` : ''} in ${scope} that takes writes`,
      timeoutMs: opts.timeoutMs ?? 60_000,
      intervalMs: 250,
      signal: opts.signal,
    });
  };

  const timelines = async (m: PatroniMember): Promise<Timelines> => {
    const rows = await m.query<{ recovery: boolean; checkpoint: number; wal: string | null; received: number | null }>(
      `SELECT pg_is_in_recovery() AS recovery,
              (SELECT timeline_id FROM pg_control_checkpoint()) AS checkpoint,
              CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS wal,
              (SELECT received_tli FROM pg_stat_wal_receiver WHERE status = 'streaming') AS received`,
    );
    const row = defined(rows[0]);
    const current = row.recovery ? row.received : Number.parseInt(defined(row.wal).slice(0, 8), 16);
    return { current, checkpoint: row.checkpoint };
  };

  const waitForMembersStreaming = async (opts: WaitOptions & { members?: readonly PatroniMember[] } = {}): Promise<void> => {
    await waitFor(
      async () => {
        const lead = await writableLeader();
        if (!lead) return false;
        const tl = (await timelines(lead)).current;
        const states = await members();
        for (const m of opts.members ?? nodes.filter((n) => n.running)) {
          if (m === lead) continue;
          // Patroni's view too: it says `creating replica` / `starting` a while after PostgreSQL streams.
          const s = states.find((x) => x.member === m);
          if (s?.role !== 'replica' || s.state !== 'running') return false;
          const rows = await m.query<{ status: string; sender_port: number; received_tli: number }>(
            'SELECT status, sender_port, received_tli FROM pg_stat_wal_receiver',
          );
          const r = rows[0];
          if (!r || r.status !== 'streaming' || r.sender_port !== lead.port || r.received_tli !== tl) return false;
        }
        return true;
      },
      { what: `every running member of ${scope} to stream from the leader`, timeoutMs: opts.timeoutMs ?? 60_000, intervalMs: 250, signal: opts.signal },
    );
  };

  const runningMember = (): PatroniMember => {
    const m = nodes.find((n) => n.running);
    if (!m) throw new Error(`Patroni cluster ${scope}: no member runs`);
    return m;
  };

  const config = async (): Promise<Record<string, unknown>> => {
    const res = await runningMember().api('/config');
    if (!res.ok) throw new Error(`GET /config: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };

  const patchConfig = async (patch: unknown): Promise<Record<string, unknown>> => {
    const via = (await leader().catch(() => undefined)) ?? runningMember();
    const res = await via.api('/config', { method: 'PATCH', body: patch });
    if (!res.ok) throw new Error(`PATCH ${via.apiUrl}/config: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };

  let generation = 0;
  const patchConfigAndWait = async (patch: Readonly<Record<string, unknown>>, opts: WaitOptions = {}): Promise<Record<string, unknown>> => {
    const marker = String(++generation);
    const postgresql = (patch['postgresql'] ?? {}) as Record<string, unknown>;
    const parameters = (postgresql['parameters'] ?? {}) as Record<string, unknown>;
    const result = await patchConfig({ ...patch, postgresql: { ...postgresql, parameters: { ...parameters, [GENERATION]: marker } } });
    await waitFor(
      async () => {
        for (const m of nodes.filter((n) => n.running && n.postmasterPid() !== undefined)) {
          const rows = await m.query<{ v: string | null }>('SELECT current_setting($1, true) AS v', [GENERATION]);
          if (rows[0]?.v !== marker) return false;
        }
        return true;
      },
      { what: `dynamic configuration #${marker} applied on every running member of ${scope}`, timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 100, signal: opts.signal },
    );
    return result;
  };

  const patronictl = async (...args: string[]): Promise<string> => {
    try {
      const { stdout } = await execFile(PATRONICTL_BIN, ['-c', runningMember().configFile, ...args], {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: runningMember().dir, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
        timeout: 60_000,
      });
      return stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`patronictl ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
    }
  };

  const switchover = async (to?: PatroniMember | string): Promise<{ from: PatroniMember; to: PatroniMember }> => {
    const from = await waitForLeader();
    const target = to !== undefined ? resolve(to) : nodes.find((n) => n !== from && n.running);
    if (!target) throw new Error(`switchover: no other running member than ${from.name}`);
    await patronictl('switchover', scope, '--leader', from.name, '--candidate', target.name, '--force');
    const now = await waitForLeader({ not: from });
    if (now !== target) throw new Error(`switchover to ${target.name}: ${now.name} leads instead`);
    return { from, to: target };
  };

  const killPrimaryPostmaster = async (): Promise<{ member: PatroniMember; pid: number }> => {
    const lead = await waitForLeader();
    return { member: lead, pid: lead.killPostmaster() };
  };

  const killLeader = async (): Promise<PatroniMember> => {
    const lead = await waitForLeader();
    await lead.kill();
    return lead;
  };

  const logs = async (lines = 60): Promise<string> =>
    [`--- etcd (${etcd.logFile})`, await logTail(etcd.logFile, 20), ...(await Promise.all(nodes.map((m) => m.logs(lines))))].join('\n');

  const cluster: PatroniCluster = {
    scope,
    etcd,
    nodes,
    pgVersion,
    restapiAuth,
    credentials,
    multiHostUrl: `postgres://${credentials.walrus.username}:${credentials.walrus.password}@${nodes.map((m) => `127.0.0.1:${m.port}`).join(',')}/postgres`,
    member,
    members,
    leader,
    waitForLeader,
    waitForMembersStreaming,
    config,
    patchConfig,
    patchConfigAndWait,
    patronictl,
    switchover,
    killPrimaryPostmaster,
    killLeader,
    timelines,
    logs,
    stop,
  };

  try {
    for (const m of nodes) m.start();
    // A member whose Patroni exits while the cluster forms (a port taken, a
    // bad configuration) fails the start at once, not after the timeout.
    const died = new AbortController();
    for (const m of nodes) void m.exited.then(() => died.abort(new Error(`Patroni of member ${m.name} exited`)));
    const lead = await waitForLeader({ timeoutMs, signal: died.signal });
    await createWalrusRole(lead, credentials.walrus);
    await waitForMembersStreaming({ members: nodes, timeoutMs, signal: died.signal });
    await waitFor(
      async () => {
        for (const m of nodes) if ((await m.query("SELECT 1 FROM pg_roles WHERE rolname = 'walrus'")).length === 0) return false;
        return true;
      },
      { what: `the walrus role on every member of ${scope}`, timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (err) {
    const text = await logs(80);
    await stop();
    throw new Error(`Patroni cluster ${scope} did not start: ${err instanceof Error ? err.message : String(err)}\n${text}`, { cause: err });
  }
  return cluster;
}

/**
 * The role walrus connects as: what docs/ARCHITECTURE.md asks of a
 * least-privilege role (read the statistics, change max_wal_size, reload).
 * Patroni 3.0 no longer creates users from `bootstrap.users`, hence SQL on the
 * leader; the grants are in shared catalogs, so they replicate.
 */
async function createWalrusRole(leader: PatroniMember, walrus: Credentials): Promise<void> {
  const client = leader.query.bind(leader);
  await client(`CREATE ROLE ${walrus.username} LOGIN PASSWORD '${walrus.password}'`);
  await client(`GRANT pg_monitor TO ${walrus.username}`);
  await client(`GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO ${walrus.username}`);
  await client(`GRANT EXECUTE ON FUNCTION pg_reload_conf() TO ${walrus.username}`);
}

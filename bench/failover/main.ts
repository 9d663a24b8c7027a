/**
 * bench/failover: what a failover under write load costs the new primary in
 * forced checkpoints (issue 11). A PostgreSQL primary and a streaming
 * standby (both from max_wal_size = 32MB, checkpoint_timeout = 30s), pgbench
 * writing through a multi-host URL with target_session_attrs=read-write (so
 * the load follows the primary), walrus's collector, decider and applier in
 * this process. After a warm-up in which walrus grows the size, the primary
 * is killed (kill -9) and the standby promoted; then for `--window` seconds
 * the new primary's checkpoints are counted: the requested ones
 * (pg_stat_checkpointer / pg_stat_bgwriter) and, from its log, those WAL
 * volume started ("checkpoint starting: wal").
 *
 * Two arms, one after the other, each on fresh servers:
 * - `ha`: walrus with the cluster's two members in one entry (this issue);
 * - `today`: walrus as before, one URL, the old primary's.
 *
 * A measurement, not a test: it prints a table and exits 0 whatever the
 * figures. See bench/README.md.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { decider } from '@walrus/decider';
import { cleanupAll, cleanupAllSync, createStandby, startNats, startPostgres, type NatsServer, type PgVersion, type PostgresCluster } from '@walrus/servers';
import { DEBIAN_PGBENCH, prepareLeaderLoad, startInProcess, startLeaderLoad, type InProcessService } from '@walrus/harness';
import { setUpBenchServers } from '../servers.js';
import { formatLoad } from '../latency/environment.js';
import { formatTable } from '@walrus/runtime';

const USAGE = `Usage: pnpm bench:failover [--pg 17] [--sample-interval 5] [--warmup 300] [--settle 45] [--window 60] [--clients 2] [--arms ha,today]

The warm-up ends when the primary's max_wal_size has not changed for --settle
seconds (at least 60 s, at most --warmup seconds).`;

const ARMS = ['ha', 'today'] as const;
type Arm = (typeof ARMS)[number];

interface Options {
  pg: PgVersion;
  sampleInterval: number;
  warmup: number;
  settle: number;
  window: number;
  clients: number;
  arms: Arm[];
}

interface ArmFigures {
  arm: Arm;
  /** Seconds of warm-up until the size settled (or the limit). */
  warmupSec: number;
  /** WAL-forced checkpoints on the old primary in the `window` seconds before the failover: the steady cost. */
  forcedBefore: number;
  /** max_wal_size of the primary and of the standby just before the failover. */
  primaryBeforeMb: number;
  standbyBeforeMb: number;
  /** The new primary's max_wal_size at promotion, one sample interval later, and at the end of the window. */
  atPromotionMb: number;
  afterOneIntervalMb: number;
  atEndMb: number;
  /** Requested checkpoints on the new primary in the window (the one after promotion included). */
  requested: number;
  /** Of the checkpoints started in the window, by what the log says started them. */
  byCause: Record<string, number>;
  transactions: number;
  load1: number;
}

const progress = (text: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      pg: { type: 'string', default: '17' },
      'sample-interval': { type: 'string', default: '5' },
      warmup: { type: 'string', default: '300' },
      settle: { type: 'string', default: '45' },
      window: { type: 'string', default: '60' },
      clients: { type: 'string', default: '2' },
      arms: { type: 'string', default: ARMS.join(',') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      process.stderr.write(`--${name}: ${v} is not an integer in ${min}..${max}\n${USAGE}\n`);
      process.exit(2);
    }
    return n;
  };
  const arms = values.arms.split(',').map((a) => a.trim());
  const bad = arms.filter((a) => !(ARMS as readonly string[]).includes(a));
  if (bad.length > 0) {
    process.stderr.write(`--arms: unknown ${bad.join(', ')} (allowed ${ARMS.join(', ')})\n`);
    process.exit(2);
  }
  return {
    pg: int('pg', values.pg, 15, 18) as PgVersion,
    sampleInterval: int('sample-interval', values['sample-interval'], 1, 300),
    warmup: int('warmup', values.warmup, 60, 3600),
    settle: int('settle', values.settle, 5, 3600),
    window: int('window', values.window, 10, 3600),
    clients: int('clients', values.clients, 1, 32),
    arms: arms as Arm[],
  };
}

async function sizeMb(c: PostgresCluster): Promise<number> {
  const [row] = await c.query<{ s: string }>("SELECT setting AS s FROM pg_settings WHERE name = 'max_wal_size'");
  if (!row) throw new Error('pg_settings has no max_wal_size');
  return Number(row.s);
}

async function requested(c: PostgresCluster): Promise<number> {
  const sql = c.version >= 17 ? 'SELECT num_requested AS n FROM pg_stat_checkpointer' : 'SELECT checkpoints_req AS n FROM pg_stat_bgwriter';
  const [row] = await c.query<{ n: string }>(sql);
  if (!row) throw new Error(`no row from ${sql}`);
  return Number(row.n);
}

/** "checkpoint starting: <flags>" lines logged at or after `fromMs` and before `toMs`, by their first flag (wal, time, force, immediate ...). */
async function checkpointsByCause(c: PostgresCluster, fromMs: number, toMs: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await c.log()).split('\n')) {
    const [, time, flags] = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC .*(?:checkpoint|restartpoint) starting: (.*)$/.exec(line) ?? [];
    if (time === undefined || flags === undefined) continue;
    const at = Date.parse(`${time.replace(' ', 'T')}Z`);
    if (at < fromMs || at >= toMs) continue;
    // "immediate force wait", "wal", "time", "end-of-recovery immediate wait", "force" ...
    const cause = flags.includes('wal') ? 'wal' : flags.includes('time') ? 'time' : flags.trim();
    out[cause] = (out[cause] ?? 0) + 1;
  }
  return out;
}

async function runArm(o: Options, nats: NatsServer, arm: Arm, n: number): Promise<ArmFigures> {
  const id = `failover-${arm}-${n}`;
  progress(`${arm}: starting PostgreSQL ${o.pg}, a standby, and walrus`);
  const primary = await startPostgres({ version: o.pg, config: { max_wal_size: '32MB', checkpoint_timeout: '30s', log_checkpoints: 'on' } });
  for (const sql of [
    'CREATE ROLE walrus LOGIN',
    'GRANT pg_monitor TO walrus',
    'GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO walrus',
    'GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO walrus',
  ]) {
    await primary.query(sql);
  }
  const standby = await createStandby(primary, { config: { log_checkpoints: 'on' } });
  const P = `127.0.0.1:${primary.port}`;
  const S = `127.0.0.1:${standby.port}`;
  await prepareLeaderLoad(primary.url);
  const url = arm === 'ha' ? `postgres://walrus@${P},${S}/postgres` : `postgres://walrus@${P}/postgres`;
  const env = {
    WALRUS_CLUSTERS: `${id}=${url}`,
    WALRUS_SAMPLE_INTERVAL: String(o.sampleInterval),
    // Growth only: with shrinking the size swings around the need and never
    // settles, and the failover's cost would drown in the swings' own.
    WALRUS_SHRINK_ENABLE: 'off',
    WALRUS_COOLDOWN_SEC: '0',
    WALRUS_MAX_CHANGES_PER_HOUR: '60',
    WALRUS_CONNECT_TIMEOUT_SEC: '2',
    LOG_LEVEL: 'warn',
  };
  const services: InProcessService[] = [];
  for (const def of [decider, applier, collector] as const) services.push(await startInProcess(def as Parameters<typeof startInProcess>[0], env, nats.url));
  const load = startLeaderLoad(`postgresql://postgres@${P},${S}/postgres?target_session_attrs=read-write`, { clients: o.clients, pgbench: process.env['PGBENCH'] ?? DEBIAN_PGBENCH });
  try {
    progress(`${arm}: warm-up under pgbench until max_wal_size stays put for ${o.settle} s (60 to ${o.warmup} s)`);
    const started = Date.now();
    let size = await sizeMb(primary);
    let since = Date.now();
    for (;;) {
      await sleep(1000);
      const now = await sizeMb(primary);
      if (now !== size) [size, since] = [now, Date.now()];
      const elapsed = Date.now() - started;
      if (elapsed >= o.warmup * 1000 || (elapsed >= 60_000 && Date.now() - since >= o.settle * 1000)) break;
    }
    const warmupSec = Math.round((Date.now() - started) / 1000);
    const killedAt = Date.now();
    const primaryBeforeMb = await sizeMb(primary);
    const standbyBeforeMb = await sizeMb(standby);
    progress(`${arm}: max_wal_size ${primaryBeforeMb} MB on the primary, ${standbyBeforeMb} MB on the standby; kill -9 of the primary, promotion`);
    await primary.kill();
    await standby.promote();
    const t0 = Date.now();
    const before = await requested(standby);
    const atPromotionMb = await sizeMb(standby);
    await sleep(o.sampleInterval * 1000);
    const afterOneIntervalMb = await sizeMb(standby);
    await sleep(Math.max(0, t0 + o.window * 1000 - Date.now()));
    const after = await requested(standby);
    const figures: ArmFigures = {
      arm,
      warmupSec,
      forcedBefore: (await checkpointsByCause(primary, killedAt - o.window * 1000, killedAt))['wal'] ?? 0,
      primaryBeforeMb,
      standbyBeforeMb,
      atPromotionMb,
      afterOneIntervalMb,
      atEndMb: await sizeMb(standby),
      requested: after - before,
      byCause: await checkpointsByCause(standby, t0 - 1000, t0 + o.window * 1000),
      transactions: 0,
      load1: loadavg()[0] ?? 0,
    };
    await load.stop();
    figures.transactions = load.transactions;
    return figures;
  } finally {
    await load.stop();
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all([standby.cleanup(), primary.cleanup()]);
  }
}

function table(rows: ArmFigures[], o: Options): string {
  const head = [
    'arm',
    'warm-up',
    `old primary: forced (wal) in the ${o.window} s before`,
    'size before: primary / standby',
    'new primary: at promotion / +1 interval / end',
    `new primary: forced (wal) in ${o.window} s`,
    'requested',
    'other checkpoints',
    'load1',
  ];
  const lines = rows.map((r) => [
    r.arm === 'ha' ? 'ha (multi-host entry)' : 'today (old primary URL)',
    `${r.warmupSec} s`,
    String(r.forcedBefore),
    `${r.primaryBeforeMb} / ${r.standbyBeforeMb} MB`,
    `${r.atPromotionMb} / ${r.afterOneIntervalMb} / ${r.atEndMb} MB`,
    String(r.byCause['wal'] ?? 0),
    String(r.requested),
    Object.entries(r.byCause)
      .filter(([k]) => k !== 'wal')
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '-',
    r.load1.toFixed(2),
  ]);
  return formatTable(head, lines);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  setUpBenchServers();
  const loadBefore = loadavg();
  const nats = await startNats();
  const rows: ArmFigures[] = [];
  try {
    for (const [i, arm] of o.arms.entries()) rows.push(await runArm(o, nats, arm, i));
  } finally {
    await cleanupAll();
  }
  process.stdout.write(
    `bench:failover: PostgreSQL ${o.pg} primary + streaming standby, checkpoint_timeout 30s, from max_wal_size 32MB; ` +
      `pgbench ${o.clients} clients following the primary; walrus sample interval ${o.sampleInterval} s; ` +
      `load average before ${formatLoad(loadBefore)}, after ${formatLoad()}\n\n${table(rows, o)}\n\n` +
      `${JSON.stringify({ options: o, arms: rows })}\n`,
  );
}

process.on('SIGINT', () => {
  cleanupAllSync();
  process.exit(130);
});
main().catch((err: unknown) => {
  process.stderr.write(`bench:failover failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  cleanupAllSync();
  process.exit(1);
});

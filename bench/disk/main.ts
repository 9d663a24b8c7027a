/**
 * bench/disk: WAL disk safety under a stuck replication slot (issue 12).
 * PostgreSQL 17 starts with max_wal_size = 32MB and checkpoint_timeout = 30s
 * in postgresql.conf; each arm creates an inactive physical slot that
 * reserves WAL at once (it holds everything written from then on), runs
 * pgbench writes with the real collector, decider and applier in this
 * process, and a monitor session reads max_wal_size, the slot's WAL and
 * pg_wal every half second. One arm without a budget, one with
 * WALRUS_WAL_DISK_BUDGET. A measurement, not a test: it prints a table and
 * exits 0 whatever the figures. See bench/README.md.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { ALGORITHM_NAMES, isAlgorithmName, type AlgorithmName } from '@walrus/core';
import { decider } from '@walrus/decider';
import type pg from 'pg';
import { startInProcess, type InProcessService } from '@walrus/harness';
import { cleanupAll, cleanupAllSync, startNats, startPostgres, type NatsServer, type PostgresCluster } from '@walrus/servers';
import { setUpBenchServers } from '../servers.js';
import { formatLoad } from '../latency/environment.js';
import { PGBENCH, pgbenchInit, pgbenchRun } from '../quality/workload.js';
import { diskFigures, formatBoundTable, formatDiskTable, type BoundFigures, type DecisionSeen, type DiskFigures, type DiskPoint } from './figures.js';

const USAGE = `Usage: pnpm bench:disk [--budget 1024] [--duration 120] [--scale 20] [--clients 4]
                       [--sample-interval 2] [--algorithm adaptive] [--arms nobudget,budget,bound]
                       [--grace 30]`;

const MB = 1024 * 1024;
const MIN_MB = 32;
const SLOT = 'bench_stuck';
/** bound: the budget with walrus.bound_slots on (max_slot_wal_keep_size from the budget, docs/DISK-SAFETY.md). */
const ARMS = ['nobudget', 'budget', 'bound'] as const;
type Arm = (typeof ARMS)[number];

const progress = (text: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

interface Options {
  budgetMb: number;
  duration: number;
  scale: number;
  clients: number;
  sampleInterval: number;
  algorithm: AlgorithmName;
  arms: Arm[];
  /** bound: walrus.slot_grace_sec. */
  grace: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      budget: { type: 'string', default: '1024' },
      duration: { type: 'string', default: '120' },
      scale: { type: 'string', default: '20' },
      clients: { type: 'string', default: '4' },
      'sample-interval': { type: 'string', default: '2' },
      algorithm: { type: 'string', default: 'adaptive' },
      arms: { type: 'string', default: ARMS.join(',') },
      grace: { type: 'string', default: '30' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: not an integer >= ${min} (got ${text})\n${USAGE}`);
    return n;
  };
  if (!isAlgorithmName(values.algorithm)) throw new Error(`--algorithm: one of ${ALGORITHM_NAMES.join(', ')} (got ${values.algorithm})`);
  const arms = values.arms.split(',').map((a) => a.trim());
  for (const a of arms) if (!(ARMS as readonly string[]).includes(a)) throw new Error(`--arms: unknown arm ${a} (allowed ${ARMS.join(', ')})`);
  return {
    budgetMb: int('budget', values.budget, 128),
    duration: int('duration', values.duration, 20),
    scale: int('scale', values.scale, 1),
    clients: int('clients', values.clients, 1),
    sampleInterval: int('sample-interval', values['sample-interval'], 1),
    algorithm: values.algorithm,
    arms: arms as Arm[],
    grace: int('grace', values.grace, 0),
  };
}

const MONITOR_SQL = `SELECT (SELECT setting FROM pg_settings WHERE name = 'max_wal_size') AS mws,
  (SELECT coalesce(max(pg_current_wal_lsn() - restart_lsn), 0) FROM pg_replication_slots)::text AS slot,
  (SELECT sum(size) FROM pg_ls_waldir())::text AS pg_wal,
  (SELECT string_agg(wal_status, ',') FROM pg_replication_slots) AS wal_status`;

/** Reads the server every half second until stopped. */
class Monitor {
  readonly points: DiskPoint[] = [];
  /** When the monitor first saw the slot invalidated (wal_status lost), seconds since t0. */
  lostAt: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | null = null;
  constructor(
    private readonly client: pg.Client,
    private readonly t0: number,
  ) {}
  start(): void {
    this.timer = setInterval(() => {
      if (!this.busy) this.busy = this.tick().finally(() => (this.busy = null));
    }, 500);
  }
  private async tick(): Promise<void> {
    const { rows } = await this.client.query<{ mws: string; slot: string; pg_wal: string; wal_status: string | null }>(MONITOR_SQL);
    const r = rows[0];
    if (!r) throw new Error('the monitor query returned no row');
    const t = (Date.now() - this.t0) / 1000;
    this.points.push({ t, maxWalSizeMb: Number(r.mws), slotMb: Number(r.slot) / MB, pgWalMb: Number(r.pg_wal) / MB });
    if (this.lostAt === null && r.wal_status?.includes('lost')) this.lostAt = t;
  }
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
    await this.tick();
  }
}

/** Back to the starting point: no slot, 32 MB, old WAL recycled by two checkpoints, then a fresh stuck slot. */
async function reset(pgc: PostgresCluster): Promise<void> {
  await pgc.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots');
  await pgc.query("ALTER SYSTEM SET max_wal_size = '32MB'");
  await pgc.query('SELECT pg_reload_conf()');
  await pgc.query('CHECKPOINT');
  await pgc.query('SELECT pg_switch_wal()');
  await pgc.query('CHECKPOINT');
  await sleep(1000);
  await pgc.query('SELECT pg_create_physical_replication_slot($1, true)', [SLOT]);
}

/** Decisions with the WAL the slots held at their sample, as the engine counted it. */
async function recordDecisions(
  nc: NatsConnection,
  cluster: string,
): Promise<{ seen: () => DecisionSeen[]; alerts: Array<Record<string, unknown>>; raw: Array<Record<string, unknown>> }> {
  const held = new Map<number, number>();
  const raw: Array<Record<string, unknown>> = [];
  const alerts: Array<Record<string, unknown>> = [];
  nc.subscribe(`walrus.alert.${cluster}`, { callback: (_e, m) => void alerts.push({ ...m.json<Record<string, unknown>>(), receivedAt: Date.now() }) });
  nc.subscribe(`walrus.sample.${cluster}`, {
    callback: (_e, m) => {
      const s = m.json<{ collected_at: string; replication_slots?: Array<{ retained_bytes: number | null }>; wal_keep_size_mb?: number }>();
      const slots = Math.max(0, ...(s.replication_slots ?? []).map((x) => x.retained_bytes ?? 0));
      held.set(Date.parse(s.collected_at), Math.ceil(slots / MB) + (s.wal_keep_size_mb ?? 0));
    },
  });
  nc.subscribe(`walrus.decision.${cluster}`, {
    callback: (_e, m) => {
      raw.push(m.json<Record<string, unknown>>());
    },
  });
  await nc.flush();
  return {
    alerts,
    raw,
    seen: () =>
      raw.map((d) => ({
        action: String(d.action),
        oldMb: Number(d.old_size_mb),
        newMb: Number(d.new_size_mb),
        heldMb: held.get(Date.parse(String(d.sample_at))) ?? NaN,
        byDisk: (d.metadata as Record<string, unknown>)['wal_disk_limit_mb'] !== undefined,
      })),
  };
}

async function runArm(nats: NatsServer, pgc: PostgresCluster, monitorClient: pg.Client, arm: Arm, o: Options): Promise<{ f: DiskFigures; tps: number; bound?: BoundFigures }> {
  await reset(pgc);
  const cluster = `disk-${arm}`;
  const clusters = { WALRUS_CLUSTERS: `${cluster}=${pgc.url}` };
  const policy: Record<string, string> = {
    WALRUS_ALGORITHM: o.algorithm,
    WALRUS_MIN_SIZE: `${MIN_MB}MB`,
    WALRUS_COOLDOWN_SEC: '0',
    WALRUS_MAX_CHANGES_PER_HOUR: '120',
    ...(arm !== 'nobudget' ? { WALRUS_WAL_DISK_BUDGET: `${o.budgetMb}MB` } : {}),
    ...(arm === 'bound' ? { WALRUS_BOUND_SLOTS: 'on', WALRUS_SLOT_GRACE_SEC: String(o.grace) } : {}),
  };
  const nc = await connect({ servers: nats.url });
  const recorder = await recordDecisions(nc, cluster);
  const services: InProcessService[] = [
    await startInProcess(decider, policy, nats.url),
    await startInProcess(applier, clusters, nats.url),
    await startInProcess(collector, { ...clusters, WALRUS_SAMPLE_INTERVAL: String(o.sampleInterval) }, nats.url),
  ];
  await sleep(2 * o.sampleInterval * 1000); // a baseline sample first, as a running walrus would have it
  const t0 = Date.now();
  const monitor = new Monitor(monitorClient, t0);
  monitor.start();
  progress(`${arm}: pgbench -c ${o.clients} -T ${o.duration} with the slot ${SLOT} holding every byte written`);
  const result = await pgbenchRun(pgc, o.clients, o.duration);
  await sleep(2 * o.sampleInterval * 1000); // the last samples' decisions
  await monitor.stop();
  for (const s of [...services].reverse()) await s.stop().catch(() => {});
  const seen = recorder.seen();
  await nc.drain();
  const f = diskFigures(monitor.points, seen, o.budgetMb, MIN_MB);
  progress(`${arm}: max_wal_size ${seen.filter((d) => d.action !== 'skipped').map((d) => `${d.oldMb}->${d.newMb}${d.byDisk ? '*' : ''}`).join(', ') || 'unchanged'} (* = shaped by the budget)`);
  if (arm !== 'bound') return { f, tps: result.tps };
  const warned = recorder.alerts.find((a) => a.kind === 'slot_retention' && a.state === 'firing' && a.slot === SLOT);
  const lost = recorder.alerts.find((a) => a.kind === 'slot_lost' && a.state === 'firing' && a.slot === SLOT);
  const keeps = recorder.raw.filter((d) => d.max_slot_wal_keep_size_mb !== undefined).map((d) => Number(d.max_slot_wal_keep_size_mb));
  const at = (a: Record<string, unknown> | undefined) => (a === undefined ? null : (Date.parse(String(a.at)) - t0) / 1000);
  return {
    f,
    tps: result.tps,
    bound: {
      warnedAtSec: at(warned),
      graceEndsAtSec: warned?.grace_ends_at === undefined ? null : (Date.parse(String(warned.grace_ends_at)) - t0) / 1000,
      invalidatedAtSec: monitor.lostAt,
      lostAlertAtSec: at(lost),
      keepSizesMb: keeps,
      peakPgWalMb: f.peakPgWalMb,
      budgetMb: o.budgetMb,
      graceSec: o.grace,
    },
  };
}

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench:disk: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  setUpBenchServers();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping nats-server and PostgreSQL`);
      cleanupAllSync();
      process.exit(130);
    });
  }
  const loadBefore = formatLoad(loadavg());
  progress('starting nats-server and PostgreSQL 17 (max_wal_size = 32MB, checkpoint_timeout = 30s in postgresql.conf)');
  const [nats, pgc] = await Promise.all([
    startNats(),
    startPostgres({ version: 17, config: { max_wal_size: '32MB', min_wal_size: '32MB', checkpoint_timeout: '30s' } }),
  ]);
  try {
    progress(`pgbench -i -s ${o.scale} (${PGBENCH})`);
    await pgbenchInit(pgc, o.scale);
    const monitorClient = await pgc.connect();
    const rows: { arm: string; f: DiskFigures; tps: number }[] = [];
    const bounded: BoundFigures[] = [];
    for (const arm of o.arms) {
      const r = await runArm(nats, pgc, monitorClient, arm, o);
      const name =
        arm === 'bound'
          ? `${o.algorithm}, WALRUS_WAL_DISK_BUDGET=${o.budgetMb}MB, WALRUS_BOUND_SLOTS=on`
          : arm === 'budget'
            ? `${o.algorithm}, WALRUS_WAL_DISK_BUDGET=${o.budgetMb}MB`
            : `${o.algorithm}, no budget`;
      rows.push({ arm: name, f: r.f, tps: r.tps });
      if (r.bound) bounded.push(r.bound);
    }
    await monitorClient.end();
    process.stdout.write(
      [
        `## A stuck slot under pgbench: scale ${o.scale}, ${o.clients} clients, ${o.duration} s; PostgreSQL 17 from max_wal_size 32 MB, checkpoint_timeout 30 s; sample every ${o.sampleInterval} s\n`,
        formatDiskTable(rows),
        '',
        ...(bounded.length > 0
          ? [
              `### walrus.bound_slots (WALRUS_SLOT_GRACE_SEC=${o.grace})\n`,
              formatBoundTable(bounded),
              '',
              'times in seconds since the load started; warned = the slot_retention alert for the slot at risk (its `at`, a sample time); invalidated = the monitor first saw wal_status lost (read every 0.5 s); slot_lost = that alert\'s `at`.',
              '',
            ]
          : []),
        `slot = WAL the inactive slot ${SLOT} holds (current LSN - restart_lsn), read every 0.5 s by the benchmark; the floor is walrus.min_size ${MIN_MB} MB.`,
        'worst decision vs budget = the largest (new max_wal_size + WAL the slots held at that sample) - budget over executable decisions: <= 0 means no decision passed it.',
        'over budget above the floor = time with max_wal_size + slot > budget while max_wal_size was still above the floor (the slot grew after the last sample).',
        `walrus settings: WALRUS_MIN_SIZE=${MIN_MB}MB WALRUS_COOLDOWN_SEC=0 WALRUS_MAX_CHANGES_PER_HOUR=120 WALRUS_ALGORITHM=${o.algorithm}; other parameters at their defaults.`,
        `load average: ${loadBefore} before, ${formatLoad(loadavg())} after`,
        '',
      ].join('\n'),
    );
  } finally {
    await cleanupAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:disk failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  cleanupAllSync();
  process.exit(1);
});

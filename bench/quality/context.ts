import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { NatsServer, PostgresCluster } from '@walrus/servers';
import { checkpointLines } from './checkpoint-log.js';
import { sizeChanges, type SizingSettings } from './figures.js';
import type { GoalResult } from './goals.js';
import { Monitor, observe, type Point } from './monitor.js';
import { WALRUS_ARMS, type Arm, type Options, type Shape } from './options.js';
import type { ArmMeta, ArmRecord, ArmRole, ResultsWriter } from './results.js';
import { startWalrus } from './walrus.js';
import { resetSize, tablesFresh } from './workload.js';

export const SIZING: SizingSettings = { checkpointTimeoutSec: 30, completionTarget: 0.9, segmentBytes: 16 * 1024 * 1024 };
/** Where every arm starts: postgresql.conf's max_wal_size. */
export const START_MB = 32;

export interface Context {
  nats: NatsServer;
  pgc: PostgresCluster;
  monitorClient: pg.Client;
  o: Options;
  results: ResultsWriter;
}

export const progress = (text: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

export interface ArmRun<T> {
  /** The arm's directory under the run's results. */
  dir: string;
  t0Ms: number;
  points: Point[];
  checkpointLog: string[];
  result: T;
}

async function requestedNow(client: pg.Client): Promise<number> {
  return (await observe(client, 0)).requested;
}

/**
 * The CHECKPOINT that starts every arm's window, counted before t = 0: the
 * checkpointer wakes the waiting session before it reports its counters, so
 * without the wait the monitor's second point could count it as forced.
 */
async function checkpointAtZero(client: pg.Client): Promise<void> {
  const before = await requestedNow(client);
  await client.query('CHECKPOINT');
  const deadline = Date.now() + 10_000;
  while ((await requestedNow(client)) <= before) {
    if (Date.now() > deadline) throw new Error('the CHECKPOINT at t = 0 never showed in num_requested');
    await sleep(50);
  }
}

/**
 * One arm of one shape: fresh tables, max_wal_size set to `startMb`, walrus
 * started for a walrus arm (cluster q-<shape>-<arm>), a CHECKPOINT at t = 0
 * (every arm's measured cycles begin the same way), the monitor polling every
 * second from t = 0, then `load(elapsed)` with a clock in seconds since t = 0.
 * After it: walrus stopped, a CHECKPOINT that completes the cycle in
 * progress (so the log holds the redo LSN of the last checkpoint that started
 * during the load), and the server log's checkpoint lines of the arm.
 */
export async function runArm<T>(
  ctx: Context,
  shape: Shape,
  arm: Arm,
  role: ArmRole,
  startMb: number,
  load: (elapsed: () => number, monitor: Monitor) => Promise<T>,
  walrusEnv: Record<string, string> = {},
): Promise<ArmRun<T>> {
  const dir = ctx.results.nextArmDir(shape, arm, role);
  await tablesFresh(ctx.pgc);
  await resetSize(ctx.pgc, startMb);
  // The oracle's walrus decides in dry run (oracleShadow); the other arms without walrus have none.
  const algorithm = role === 'calibration' ? null : WALRUS_ARMS.includes(arm) ? arm : arm === 'oracle' ? oracleShadow(ctx.o) : null;
  const recordTo = [join(ctx.results.dir, dir, 'walrus'), ...(ctx.o.samplesDir === null ? [] : [ctx.o.samplesDir])];
  const walrus = algorithm === null ? null : await startWalrus(ctx.nats, ctx.pgc, `q-${shape}-${arm}`, algorithm, ctx.o.sampleInterval, recordTo, arm === 'oracle', walrusEnv);
  const logFrom = statSync(ctx.pgc.logFile).size;
  let monitor: Monitor | null = null;
  let t0 = 0;
  let result: T;
  try {
    await checkpointAtZero(ctx.monitorClient);
    t0 = Date.now();
    monitor = new Monitor(ctx.monitorClient, t0);
    monitor.points.push(await observe(ctx.monitorClient, 0));
    monitor.start();
    try {
      result = await load(() => (Date.now() - t0) / 1000, monitor);
    } finally {
      await monitor.stop();
    }
  } finally {
    await walrus?.stop();
  }
  await ctx.monitorClient.query('CHECKPOINT');
  const checkpointLog = checkpointLines(readFileSync(ctx.pgc.logFile).subarray(logFrom).toString('utf8'));
  return { dir, t0Ms: t0, points: monitor.points, checkpointLog, result };
}

/** Writes an arm's raw output under the run's results. */
export function recordArm(ctx: Context, run: ArmRun<unknown>, meta: Omit<ArmMeta, 'dir' | 't0Ms'>, loadOutput: string): ArmRecord {
  const record: ArmRecord = { ...meta, dir: run.dir, t0Ms: run.t0Ms, points: run.points, checkpointLog: run.checkpointLog, loadOutput };
  ctx.results.writeArm(record);
  return record;
}

/**
 * The oracle runs walrus too, in dry run (it decides, records, samples as
 * often, and never changes max_wal_size): the oracle and the walrus arms
 * then share the two cores alike and differ only in how max_wal_size is set.
 * The algorithm is the first walrus arm asked for (adaptive by default).
 */
export function oracleShadow(o: Options): Arm {
  return o.arms.find((a) => WALRUS_ARMS.includes(a)) ?? 'adaptive';
}

export function armLabel(arm: Arm, o: Options): string {
  switch (arm) {
    case 'none':
      return 'no walrus';
    case 'oneshot':
      return 'formula once from the first 10 s';
    case 'oracle':
      return `oracle (preset to the need, ${oracleShadow(o)} in dry run)`;
    case 'multiplicative':
      return 'multiplicative (sample every 30 s)';
    default:
      return `${arm} (sample every ${o.sampleInterval} s)`;
  }
}

/** What a shape prints, and its goals judged per walrus arm. */
export interface ShapeReport {
  text: string;
  goals: GoalResult[];
}

export function describeChanges(points: readonly Point[]): string {
  const changes = sizeChanges(points);
  return changes.length === 0 ? 'unchanged' : changes.map((c) => `${c.fromMb}->${c.toMb} at ${c.t.toFixed(0)} s`).join(', ');
}

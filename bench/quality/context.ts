import type pg from 'pg';
import type { NatsServer, PostgresCluster } from '@walrus/servers';
import { sizeChanges, type SizingSettings } from './figures.js';
import type { GoalResult } from './goals.js';
import { Monitor, observe, type Point } from './monitor.js';
import { WALRUS_ARMS, type Arm, type Options, type Shape } from './options.js';
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
}

export const progress = (text: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

export interface ArmRun<T> {
  points: Point[];
  result: T;
}

/**
 * One arm of one shape: fresh tables, max_wal_size set to `startMb` with a fresh
 * checkpoint, walrus started for a walrus arm (cluster q-<shape>-<arm>),
 * the monitor polling every second from t = 0, then `load(elapsed)` with a
 * clock in seconds since t = 0; everything stopped after it.
 */
export async function runArm<T>(ctx: Context, shape: Shape, arm: Arm, startMb: number, load: (elapsed: () => number, monitor: Monitor) => Promise<T>): Promise<ArmRun<T>> {
  await tablesFresh(ctx.pgc);
  await resetSize(ctx.pgc, startMb);
  // The oracle's walrus decides in dry run (oracleShadow); the other arms without walrus have none.
  const algorithm = WALRUS_ARMS.includes(arm) ? arm : arm === 'oracle' ? oracleShadow(ctx.o) : null;
  const walrus = algorithm === null ? null : await startWalrus(ctx.nats, ctx.pgc, `q-${shape}-${arm}`, algorithm, ctx.o.sampleInterval, ctx.o.samplesDir, arm === 'oracle');
  try {
    const t0 = Date.now();
    const monitor = new Monitor(ctx.monitorClient, t0);
    monitor.points.push(await observe(ctx.monitorClient, 0));
    monitor.start();
    try {
      const result = await load(() => (Date.now() - t0) / 1000, monitor);
      return { points: monitor.points, result };
    } finally {
      await monitor.stop();
    }
  } finally {
    await walrus?.stop();
  }
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

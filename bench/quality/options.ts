import { parseArgs } from 'node:util';

export const USAGE = `Usage: pnpm bench:quality [--shape SHAPE[,SHAPE...]|all] [--arms adaptive]
                          [--scale-time 1] [--sample-interval 5] [--scale 20] [--clients 4]
                          [--duration 150] [--calibration 40] [--steady-rate 0]
                          [--sysbench-tables 4] [--sysbench-table-size 250000]
                          [--bursts 3] [--burst 30] [--quiet 60]
                          [--storm-duration 120] [--storm-rate 100] [--checkpoint-every 2]
                          [--quiet-rate 50] [--ramp-top 1000]
                          [--maint-rows 4000000] [--before 60] [--after 600]
                          [--period 1200] [--batch 120] [--days 4] [--batch-at PERIOD/2]
                          [--results DIR] [--samples-dir DIR]

--shape: steady (pgbench), oltp_write_only, oltp_read_write (sysbench),
bursts, storm, daily, create_index, vacuum_freeze, copy, recurring;
comma-separated, or all (default: every shape but recurring, which takes
about 1.5 hours with its defaults and runs only when named).
--period S: recurring's compressed "day" (WALRUS_RECURRING_PERIOD_SEC, epoch-
aligned); a --batch S full-speed pgbench starts --batch-at S (default half
the period) into each of --days periods, over a -R --quiet-rate load
(--scale-time does not apply: shorten it with these options).
--arms: comma-separated, from none, oneshot, oracle, multiplicative, adaptive,
percentile (default adaptive). The steady shapes always run the oracle arm
first; none runs in every shape, oneshot and oracle in the steady shapes only.
--steady-rate F throttles every steady arm to F x the calibration run's
TPS (pgbench -R, sysbench --rate); 0 (the default) runs them flat out.
--scale-time F shrinks (or stretches) every phase by F, for smoke runs; the
goals stay those of the full run, so a scaled run's PASS/FAIL is indicative.
--after S: how long the maintenance shapes watch after their operation (the
goal's 10 minutes); shorter runs compress that wait and say so.
--results DIR keeps the run's raw output there (default
bench/results/<UTC timestamp>); 'pnpm bench:quality:report DIR' recomputes
the tables from it.
--samples-dir also writes each walrus arm's samples, decisions and settings
(DIR/<cluster>.samples.jsonl, .decisions.jsonl, .env), for 'pnpm walrus simulate'.`;

export const ARMS = ['none', 'oneshot', 'oracle', 'multiplicative', 'adaptive', 'percentile'] as const;
export type Arm = (typeof ARMS)[number];
export const WALRUS_ARMS: readonly Arm[] = ['multiplicative', 'adaptive', 'percentile'];
export const STEADY_SHAPES = ['steady', 'oltp_write_only', 'oltp_read_write'] as const;
export const MAINTENANCE_SHAPES = ['create_index', 'vacuum_freeze', 'copy'] as const;
export const SHAPES = [...STEADY_SHAPES, 'bursts', 'storm', 'daily', ...MAINTENANCE_SHAPES, 'recurring'] as const;
/** What `--shape all` runs: recurring waits for epoch-aligned periods and takes about 1.5 hours, so it runs only when named. */
export const DEFAULT_SHAPES: readonly Shape[] = SHAPES.filter((sh) => sh !== 'recurring');
export type Shape = (typeof SHAPES)[number];
export type SteadyShape = (typeof STEADY_SHAPES)[number];
export type MaintenanceShape = (typeof MAINTENANCE_SHAPES)[number];

export interface Options {
  shapes: Shape[];
  arms: Arm[];
  /** Every phase's length is multiplied by this (smoke runs). */
  timeScale: number;
  sampleInterval: number;
  scale: number;
  clients: number;
  /** steady */
  duration: number;
  calibration: number;
  /** Fraction of the calibration TPS the steady arms are throttled to; 0 for none. */
  steadyRate: number;
  /** bursts */
  bursts: number;
  burst: number;
  quiet: number;
  /** storm */
  stormDuration: number;
  stormRate: number;
  checkpointEvery: number;
  /** daily */
  quietRate: number;
  rampTop: number;
  /** sysbench */
  sysbenchTables: number;
  sysbenchTableSize: number;
  /** maintenance: rows of the table the operations work on, the quiet lead-in and the watch after (s) */
  maintRows: number;
  before: number;
  after: number;
  /** recurring: the period (s), the batch's length (s), its offset into each period (s; null = half the period) and how many periods */
  period: number;
  batch: number;
  batchAt: number | null;
  days: number;
  /** Where the raw output goes; null: bench/results/<UTC timestamp>. */
  results: string | null;
  samplesDir: string | null;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Throws UsageError on a bad option; null for --help. */
export function parseOptions(argv: string[]): Options | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        shape: { type: 'string', default: 'all' },
        arms: { type: 'string', default: 'adaptive' },
        'scale-time': { type: 'string', default: '1' },
        'sample-interval': { type: 'string', default: '5' },
        scale: { type: 'string', default: '20' },
        clients: { type: 'string', default: '4' },
        duration: { type: 'string', default: '150' },
        calibration: { type: 'string', default: '40' },
        'steady-rate': { type: 'string', default: '0' },
        'sysbench-tables': { type: 'string', default: '4' },
        'sysbench-table-size': { type: 'string', default: '250000' },
        'maint-rows': { type: 'string', default: '4000000' },
        before: { type: 'string', default: '60' },
        after: { type: 'string', default: '600' },
        results: { type: 'string' },
        period: { type: 'string', default: '1200' },
        batch: { type: 'string', default: '120' },
        'batch-at': { type: 'string' },
        days: { type: 'string', default: '4' },
        bursts: { type: 'string', default: '3' },
        burst: { type: 'string', default: '30' },
        quiet: { type: 'string', default: '60' },
        'storm-duration': { type: 'string', default: '120' },
        'storm-rate': { type: 'string', default: '100' },
        'checkpoint-every': { type: 'string', default: '2' },
        'quiet-rate': { type: 'string', default: '50' },
        'ramp-top': { type: 'string', default: '1000' },
        'samples-dir': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) return null;
  const num = (name: string, text: string, min: number, integer = true): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
      throw new UsageError(`--${name}: not ${integer ? 'an integer' : 'a number'} >= ${min} (got ${text})`);
    }
    return n;
  };
  const shapes = values.shape === 'all' ? [...DEFAULT_SHAPES] : values.shape.split(',').map((a) => a.trim());
  for (const sh of shapes) if (!(SHAPES as readonly string[]).includes(sh)) throw new UsageError(`--shape: ${SHAPES.join(', ')} or all (got ${sh})`);
  const arms = values.arms.split(',').map((a) => a.trim());
  for (const a of arms) if (!(ARMS as readonly string[]).includes(a)) throw new UsageError(`--arms: unknown arm ${a} (allowed ${ARMS.join(', ')})`);
  const timeScale = num('scale-time', values['scale-time'], 0.01, false);
  // walrus.recurring_period_sec takes 60 .. 604800.
  const period = num('period', values.period, 60);
  if (period > 604800) throw new UsageError(`--period: at most 604800 (got ${period})`);
  const batch = num('batch', values.batch, 5);
  if (batch > period / 2) throw new UsageError(`--batch: at most half the period, ${period / 2} s (got ${batch}): the quiet between batches is what the goals measure`);
  const batchAt = values['batch-at'] === undefined ? null : num('batch-at', values['batch-at'], 0);
  if (batchAt !== null && batchAt + batch > period) throw new UsageError(`--batch-at: the batch must end within its period (${batchAt} + ${batch} > ${period})`);
  return {
    // In the order of SHAPES, whatever the order asked: a run's tables always read the same way.
    shapes: SHAPES.filter((sh) => shapes.includes(sh)),
    arms: [...new Set(arms)] as Arm[],
    timeScale,
    sampleInterval: num('sample-interval', values['sample-interval'], 1),
    scale: num('scale', values.scale, 1),
    clients: num('clients', values.clients, 1),
    duration: num('duration', values.duration, 10),
    calibration: num('calibration', values.calibration, 4),
    steadyRate: num('steady-rate', values['steady-rate'], 0, false),
    bursts: num('bursts', values.bursts, 1),
    burst: num('burst', values.burst, 2),
    quiet: num('quiet', values.quiet, 2),
    stormDuration: num('storm-duration', values['storm-duration'], 4),
    stormRate: num('storm-rate', values['storm-rate'], 1),
    checkpointEvery: num('checkpoint-every', values['checkpoint-every'], 0.1, false),
    quietRate: num('quiet-rate', values['quiet-rate'], 1),
    rampTop: num('ramp-top', values['ramp-top'], 1),
    sysbenchTables: num('sysbench-tables', values['sysbench-tables'], 1),
    sysbenchTableSize: num('sysbench-table-size', values['sysbench-table-size'], 100),
    maintRows: num('maint-rows', values['maint-rows'], 1000),
    before: num('before', values.before, 0),
    after: num('after', values.after, 1),
    period,
    batch,
    batchAt,
    days: num('days', values.days, 2),
    results: values.results ?? null,
    samplesDir: values['samples-dir'] ?? null,
  };
}

/** A phase of `sec` seconds at the run's time scale, whole seconds (pgbench -T), at least 1. */
export function scaled(o: Pick<Options, 'timeScale'>, sec: number): number {
  return Math.max(1, Math.round(sec * o.timeScale));
}

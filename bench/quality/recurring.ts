/**
 * The recurring shape (issue 25 item 3): a batch that comes back at the same
 * time of each compressed "day". walrus runs with
 * WALRUS_RECURRING_PERIOD_SEC = --period; its memory's slots are aligned on
 * the epoch (period k runs from k x period to (k + 1) x period seconds since
 * 1970, packages/core/src/engine/recurring.ts), so the batches start
 * --batch-at seconds after such boundaries, not after the arm's start. Over
 * the whole arm a light pgbench (-R --quiet-rate, two clients) runs; each
 * batch is a full-speed pgbench of --batch seconds.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCheckpointLog } from './checkpoint-log.js';
import { relativeCheckpoints } from './cycles.js';
import { armLabel, describeChanges, progress, recordArm, runArm, SIZING, START_MB, type Context, type ShapeReport } from './context.js';
import { recurringGoals, type GoalResult } from './goals.js';
import { WALRUS_ARMS, type Options } from './options.js';
import { formatRecurringTable, recurringFigures, type RecurringBatch, type RecurringBatchFigures } from './recurring-figures.js';
import type { ArmRecord } from './results.js';
import { pgbenchRun } from './workload.js';

/** Light load: two clients, as the daily shape's quiet phases. */
const QUIET_CLIENTS = 2;
/**
 * Quiet before the first batch: two checkpoint_timeouts, so that walrus's
 * sliding rate covers a whole interval and the first period's slots hold
 * quiet needs (a period whose measured slots were mostly the batch would
 * have the batch as its median, and no peak).
 */
const LEAD_IN_SEC = 60;
/** The size is judged this long before the next batch (the issue's 3 minutes), at most half the quiet between batches (smoke runs). */
export function settleSec(o: Pick<Options, 'period' | 'batch'>): number {
  return Math.min(180, Math.floor((o.period - o.batch) / 2));
}

export function batchOffsetSec(o: Pick<Options, 'period' | 'batchAt'>): number {
  return o.batchAt ?? Math.floor(o.period / 2);
}

export interface ScheduledBatch {
  startMs: number;
  endMs: number;
  checkMs: number;
}

/**
 * The batches' epoch times: the first at the first period boundary plus the
 * offset that leaves LEAD_IN_SEC of quiet from `nowMs`, then one per
 * period; each judged settleSec before the next one's start (the last one
 * as if there were a next, and the run ends there).
 */
export function recurringSchedule(nowMs: number, o: Pick<Options, 'period' | 'batch' | 'batchAt' | 'days'>): ScheduledBatch[] {
  const periodMs = o.period * 1000;
  const offsetMs = batchOffsetSec(o) * 1000;
  let firstMs = Math.floor(nowMs / periodMs) * periodMs + offsetMs;
  while (firstMs < nowMs + LEAD_IN_SEC * 1000) firstMs += periodMs;
  return Array.from({ length: o.days }, (_, k) => {
    const startMs = firstMs + k * periodMs;
    return { startMs, endMs: startMs + o.batch * 1000, checkMs: startMs + periodMs - settleSec(o) * 1000 };
  });
}

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

export async function runRecurring(ctx: Context): Promise<void> {
  const { o, pgc } = ctx;
  const env = { WALRUS_RECURRING_PERIOD_SEC: String(o.period) };
  for (const arm of o.arms.filter((a) => a === 'none' || WALRUS_ARMS.includes(a))) {
    const outputs: string[] = [];
    const run = await runArm(
      ctx,
      'recurring',
      arm,
      'arm',
      START_MB,
      async (elapsed) => {
        const nowMs = Date.now();
        const t0Ms = nowMs - elapsed() * 1000;
        const schedule = recurringSchedule(nowMs, o);
        const lastCheckMs = schedule.at(-1)?.checkMs ?? nowMs;
        progress(
          `recurring / ${arm}: period ${o.period} s, batches of ${o.batch} s at ${schedule.map((b) => clock(b.startMs)).join(', ')} UTC; ends ${clock(lastCheckMs)} UTC (${((lastCheckMs - nowMs) / 60000).toFixed(0)} min)`,
        );
        const quiet = pgbenchRun(pgc, QUIET_CLIENTS, Math.ceil((lastCheckMs - Date.now()) / 1000) + 1, o.quietRate);
        const batches: RecurringBatch[] = [];
        try {
          for (const [i, b] of schedule.entries()) {
            await sleep(Math.max(0, b.startMs - Date.now()));
            const start = elapsed();
            progress(`recurring / ${arm}: batch ${i + 1} at ${start.toFixed(0)} s`);
            outputs.push((await pgbenchRun(pgc, o.clients, o.batch)).output);
            batches.push({ start, end: elapsed(), checkAt: (b.checkMs - t0Ms) / 1000 });
          }
        } finally {
          // The quiet load runs to the last check: its output (and any failure) after the batches'.
          outputs.push((await quiet).output);
        }
        return batches;
      },
      env,
    );
    progress(`recurring / ${arm}: max_wal_size ${describeChanges(run.points)}`);
    const interval = WALRUS_ARMS.includes(arm) ? (arm === 'multiplicative' ? 30 : o.sampleInterval) : 0;
    recordArm(
      ctx,
      run,
      {
        shape: 'recurring',
        arm,
        role: 'arm',
        label: `${armLabel(arm, o)}${WALRUS_ARMS.includes(arm) ? `, WALRUS_RECURRING_PERIOD_SEC=${o.period}` : ''}`,
        startMb: START_MB,
        sampleIntervalSec: interval,
        load: { kind: 'recurring', periodSec: o.period, settleSec: settleSec(o), batches: run.result },
      },
      outputs.join('\n'),
    );
  }
}

export function reportRecurring(records: readonly ArmRecord[], o: Options): ShapeReport {
  const rows: { arm: string; f: RecurringBatchFigures }[] = [];
  const goals: GoalResult[] = [];
  for (const r of records) {
    if (r.load.kind !== 'recurring') continue;
    const checkpoints = relativeCheckpoints(parseCheckpointLog(r.checkpointLog), r.t0Ms);
    const batches = recurringFigures(r.points, checkpoints, r.load.batches, SIZING);
    rows.push(...batches.map((f) => ({ arm: r.label, f })));
    if (WALRUS_ARMS.includes(r.arm)) goals.push(...recurringGoals(batches, r.load.settleSec).map((g) => ({ ...g, arm: r.arm, shape: 'recurring' as const })));
  }
  const text = [
    `## Recurring: a ${o.batch} s full-speed pgbench at ${batchOffsetSec(o)} s into each ${o.period} s period (epoch-aligned) for ${o.days} periods, over pgbench -R ${o.quietRate}; from 32 MB\n`,
    formatRecurringTable(rows),
    '',
    `batch need = figures.ts neededMb of the batch's own WAL rate; quiet need = the same of the WAL rate from the batch's end to the check, ${settleSec(o)} s before the next batch (for the last, before where it would be: the run ends there). Goals from the 2nd batch on: the memory has seen one.`,
    ...(o.period === 1200 && o.batch === 120 && o.days === 4 && o.batchAt === null
      ? []
      : [`not the full run (--period 1200 --batch 120 --days 4): the check comes ${o.period - o.batch - settleSec(o)} s after a batch's end, so its PASS/FAIL is indicative only.`]),
    '',
  ].join('\n');
  return { text, goals };
}

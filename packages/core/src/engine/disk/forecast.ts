import { z } from 'zod';
import type { Policy } from '../../config/policy.js';
import type { Sample } from '../../schemas.js';
import { toMs } from '../time.js';
import { segmentBytes } from '../wal-rate.js';
import { diskHolders, formatBytes, MB } from './holders.js';

/*
 * Time to full (docs/DISK-SAFETY.md, "Forecast"): from the trend of what
 * each holder keeps on disk, when pg_wal reaches walrus.wal_disk_budget,
 * and which holder takes it there. The holders are the slot furthest behind
 * (slots share WAL), the archiver's backlog (segments waiting to be
 * archived) and pg_wal itself (whatever else: WAL written faster than
 * checkpoints recycle it). Each trend is a moving average of the growth
 * between samples, so that one recycled segment does not swing it.
 */

/** Weight of the newest growth rate in each holder's moving average. */
export const FORECAST_ALPHA = 0.5;
/** A firing forecast resolves once the time to full is this many horizons away (or nothing grows): no flapping at the horizon. */
export const FORECAST_CLEAR_FACTOR = 1.25;

export const FORECAST_CAUSES = ['replication_slot', 'archiver', 'pg_wal'] as const;
export type ForecastCause = (typeof FORECAST_CAUSES)[number];

const Holder = z.strictObject({ bytes: z.number().min(0), rate: z.number().nullable() });
/** What the forecast remembers between samples: the cluster state's `forecast`. */
export const ForecastMemorySchema = z.strictObject({
  at: z.iso.datetime({ offset: true }),
  /** The slot furthest behind (by name: another slot's WAL is another trend). */
  slot: Holder.extend({ name: z.string().min(1).max(63) }).nullable(),
  archiver: Holder.nullable(),
  pgWal: Holder.nullable(),
});
export type ForecastMemory = z.infer<typeof ForecastMemorySchema>;

export interface Forecast {
  /** Seconds until pg_wal reaches the budget at the fastest holder's trend; null when nothing grows (or no budget). */
  etaSec: number | null;
  cause: ForecastCause | null;
  /** The slot, when a slot is the cause. */
  slot: string | null;
  /** Each holder's trend (bytes/s), null when unknown. */
  rates: Record<ForecastCause, number | null>;
  /** The archiver's backlog: segments waiting, and their bytes; null when archiving is off or the sample does not say. */
  archiverBacklog: { segments: number; bytes: number } | null;
  usedBytes: number | null;
  budgetBytes: number | null;
  /** One line: what fills the disk and when it is full. */
  detail: string;
}

export interface ForecastResult {
  memory: ForecastMemory | null;
  forecast: Forecast;
}

/** Segments waiting to be archived, and what they hold. */
export function archiverBacklog(sample: Sample): Forecast['archiverBacklog'] {
  const pending = sample.archiver?.pending_files;
  if (pending === null || pending === undefined) return null;
  return { segments: pending, bytes: pending * segmentBytes(sample) };
}

function trend(previous: { bytes: number; rate: number | null } | null, bytes: number, dtSec: number): { bytes: number; rate: number | null } {
  if (previous === null || dtSec <= 0) return { bytes, rate: null };
  const growth = (bytes - previous.bytes) / dtSec;
  return { bytes, rate: previous.rate === null ? growth : FORECAST_ALPHA * growth + (1 - FORECAST_ALPHA) * previous.rate };
}

const CAUSE_TEXT: Record<ForecastCause, string> = {
  replication_slot: 'replication slot',
  archiver: 'the archiver backlog',
  pg_wal: 'pg_wal',
};

/** The forecast for this sample, and what to remember for the next. A sample that does not say what pg_wal holds keeps the memory as it was. */
export function forecastDisk(sample: Sample, policy: Policy, previous: ForecastMemory | null): ForecastResult {
  const budgetBytes = policy.walDiskBudgetMb === null ? null : policy.walDiskBudgetMb * MB;
  const usedBytes = sample.pg_wal_bytes ?? null;
  const backlog = archiverBacklog(sample);
  const none = (detail: string, memory: ForecastMemory | null): ForecastResult => ({
    memory,
    forecast: { etaSec: null, cause: null, slot: null, rates: { replication_slot: null, archiver: null, pg_wal: null }, archiverBacklog: backlog, usedBytes, budgetBytes, detail },
  });
  if (usedBytes === null) return none('the sample does not say what pg_wal holds', previous);

  const dtSec = previous === null ? 0 : (toMs(sample.collected_at) - toMs(previous.at)) / 1000;
  const holders = sample.replication_slots === undefined ? null : diskHolders(sample);
  const slot = holders?.slot ?? null;
  const memory: ForecastMemory = {
    at: sample.collected_at,
    slot: slot === null ? null : { name: slot.name, ...trend(previous?.slot?.name === slot.name ? previous.slot : null, holders?.slotRetainedBytes ?? 0, dtSec) },
    archiver: backlog === null ? null : trend(previous?.archiver ?? null, backlog.bytes, dtSec),
    pgWal: trend(previous?.pgWal ?? null, usedBytes, dtSec),
  };
  const rates: Forecast['rates'] = { replication_slot: memory.slot?.rate ?? null, archiver: memory.archiver?.rate ?? null, pg_wal: memory.pgWal?.rate ?? null };
  if (budgetBytes === null) return { memory, forecast: { ...none('walrus.wal_disk_budget is off: no budget to forecast against', memory).forecast, rates } };

  const eta = etaOf(memory, budgetBytes);
  if (eta === null) {
    return { memory, forecast: { ...none(`nothing that holds WAL is growing; pg_wal holds ${formatBytes(usedBytes)} of walrus.wal_disk_budget ${formatBytes(budgetBytes)}`, memory).forecast, rates } };
  }
  const { cause, etaSec, rate } = eta;
  const slotName = cause === 'replication_slot' ? (memory.slot?.name ?? null) : null;
  const what = slotName ? `${CAUSE_TEXT[cause]} ${slotName}` : CAUSE_TEXT[cause];
  const detail =
    `pg_wal holds ${formatBytes(usedBytes)} of walrus.wal_disk_budget ${formatBytes(budgetBytes)}; ${what} grows by ${formatBytes(rate)}/s: the budget is reached in about ${formatDuration(etaSec)}` +
    (cause === 'archiver' && backlog ? ` (${backlog.segments} segment(s), ${formatBytes(backlog.bytes)}, wait to be archived)` : '');
  return { memory, forecast: { etaSec, cause, slot: slotName, rates, archiverBacklog: backlog, usedBytes, budgetBytes, detail } };
}

/**
 * The disk fills at the fastest trend (pg_wal's includes every holder's);
 * the cause named is the holder that grows fastest, pg_wal itself only when
 * neither a slot nor the archiver grows. Null when nothing grows. Also what
 * `walrus status` shows from a stored state.
 */
export function etaOf(memory: ForecastMemory, budgetBytes: number): { cause: ForecastCause; etaSec: number; rate: number } | null {
  const rates: Record<ForecastCause, number | null> = { replication_slot: memory.slot?.rate ?? null, archiver: memory.archiver?.rate ?? null, pg_wal: memory.pgWal?.rate ?? null };
  let cause: ForecastCause | null = null;
  for (const c of ['replication_slot', 'archiver'] as const) {
    const r = rates[c];
    if (r !== null && r > 0 && (cause === null || r > (rates[cause] ?? 0))) cause = c;
  }
  if (cause === null && (rates.pg_wal ?? 0) > 0) cause = 'pg_wal';
  if (cause === null || memory.pgWal === null) return null;
  const rate = Math.max(rates[cause] ?? 0, rates.pg_wal ?? 0);
  return { cause, rate, etaSec: Math.round(Math.max(0, budgetBytes - memory.pgWal.bytes) / rate) };
}

/** "2 h 5 min", "3 min 20 s", "45 s" */
export function formatDuration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

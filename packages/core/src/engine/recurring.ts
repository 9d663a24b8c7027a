import { z } from 'zod';
import type { Sample } from '../schemas.js';
import { toIso, toMs } from './time.js';
import { requiredSizeMb, type WalRateState, WHOLE_INTERVAL } from './wal-rate.js';

/*
 * Recurring loads (issue 25 item 3): a nightly batch or a morning report
 * comes back at the same time of day, and the peak memory (wal-rate.ts)
 * lasts only PEAK_HOLD_INTERVALS checkpoint_timeouts. So each cluster keeps,
 * without configuration, the size its WAL needed per slot of a period
 * (walrus.recurring_period_sec, a day by default: slots of 15 minutes) over
 * the last RECURRING_PERIODS periods, and is at that size shortly before a
 * slot where a load came back. Bounded: the current period's slots, and of
 * each past period its quiet need and the slots well above it.
 */

/** Slots per period: 15 minutes of a day, 12.5 s of a 20-minute benchmark day. */
export const RECURRING_SLOTS = 96;
/** Past periods remembered: a week of days, so that a weekly load (same weekday) is remembered too. */
export const RECURRING_PERIODS = 7;
/**
 * A slot is a peak of its period when it needed at least this many times
 * the period's quiet need (the median of its slots): smaller differences
 * are the load's own noise, and preparing for them would only spend changes.
 */
export const RECURRING_PEAK = 2;
/** Headroom over a remembered need: it is already the highest sliding rate of its slot (as PEAK_HEADROOM in formula.ts). */
export const RECURRING_HEADROOM = 1.15;
/** The weekly rule (the same slot RECURRING_PERIODS periods ago) applies when the period is a day. */
const DAY_SEC = 86400;

const Int = z.number().int().min(0);
const PastPeriod = z.strictObject({
  /** floor(epoch ms / period): consecutive periods have consecutive indexes. */
  index: Int,
  /** The median need of its measured slots (MB). */
  quietMb: Int,
  /** [slot, need MB] of the slots that needed RECURRING_PEAK x quietMb or more. */
  peaks: z.array(z.tuple([Int, Int])).max(RECURRING_SLOTS),
});
type PastPeriod = z.infer<typeof PastPeriod>;

/** ClusterState.recurring: what a cluster's WAL needed per slot of the period. */
export const RecurringSchema = z.strictObject({
  periodSec: z.number().int().min(60),
  index: Int,
  /** The need (MB) of each slot of the current period so far; 0 = not measured. */
  slots: z.array(Int).length(RECURRING_SLOTS),
  /** The last RECURRING_PERIODS periods with measurements, oldest first. */
  past: z.array(PastPeriod).max(RECURRING_PERIODS),
});
export type RecurringMemory = z.infer<typeof RecurringSchema>;

interface Place {
  index: number;
  slot: number;
  slotStartMs: number;
}

function place(atMs: number, periodSec: number): Place {
  const periodMs = periodSec * 1000;
  const slotMs = periodMs / RECURRING_SLOTS;
  const index = Math.floor(atMs / periodMs);
  const slot = Math.min(RECURRING_SLOTS - 1, Math.floor((atMs - index * periodMs) / slotMs));
  return { index, slot, slotStartMs: index * periodMs + slot * slotMs };
}

/** The need (MB) this sample measures: the sliding rate once it covers a whole checkpoint_timeout, else nothing. */
export function measuredNeedMb(wal: WalRateState, sample: Sample): number | null {
  const rate = wal.recentRate ?? null;
  if (rate === null || (wal.recentSpanSec ?? 0) < sample.checkpoint_timeout_s * WHOLE_INTERVAL) return null;
  return requiredSizeMb(rate, sample);
}

function summarize(index: number, slots: readonly number[]): PastPeriod | null {
  const known = slots.filter((mb) => mb > 0).sort((a, b) => a - b);
  const quietMb = known[Math.floor((known.length - 1) / 2)];
  if (quietMb === undefined) return null;
  const peaks = slots.flatMap((mb, slot): Array<[number, number]> => (mb >= quietMb * RECURRING_PEAK ? [[slot, mb]] : []));
  return { index, quietMb, peaks };
}

/**
 * The memory after one sample: a period that ended is summarized, periods
 * older than RECURRING_PERIODS are forgotten, and the sample's need raises
 * its slot's. A change of walrus.recurring_period_sec starts over (slots of
 * another period do not line up); 0 forgets everything.
 */
export function learnRecurring(memory: RecurringMemory | undefined, sample: Sample, needMb: number | null, periodSec: number): RecurringMemory | undefined {
  if (periodSec === 0) return undefined;
  const here = place(toMs(sample.collected_at), periodSec);
  let m: RecurringMemory =
    memory === undefined || memory.periodSec !== periodSec ? { periodSec, index: here.index, slots: new Array<number>(RECURRING_SLOTS).fill(0), past: [] } : memory;
  // A collector clock that went back: nothing learned until it is past the period again.
  if (here.index < m.index) return m;
  if (here.index > m.index) {
    const closed = summarize(m.index, m.slots);
    const past = [...m.past, ...(closed ? [closed] : [])].filter((p) => p.index >= here.index - RECURRING_PERIODS).slice(-RECURRING_PERIODS);
    m = { periodSec, index: here.index, slots: new Array<number>(RECURRING_SLOTS).fill(0), past };
  }
  if (needMb === null || needMb <= (m.slots[here.slot] ?? 0)) return m;
  const slots = [...m.slots];
  slots[here.slot] = Math.ceil(needMb);
  return { ...m, slots };
}

/** What the memory expects shortly ahead of a sample. */
export interface RecurringNeed {
  /** The size to be at (the remembered need x RECURRING_HEADROOM), MB. */
  sizeMb: number;
  needMb: number;
  /** When the slot that needs it starts (it may have started already). */
  slotAt: string;
  slot: number;
  /** Why it is taken to come back: which periods before the slot's saw it (1 = the previous one). */
  seenPeriodsAgo: number[];
  rule: 'previous_period' | 'two_of_last' | 'same_weekday';
  periodSec: number;
}

/**
 * The largest need of the slots from now to `leadSec` ahead that came back:
 * a slot counts when its period's previous one had a peak there (a daily
 * load, from its second occurrence on), or two of the last RECURRING_PERIODS
 * did (a weekday load after a weekend), or, for a period of a day, the one a
 * week before did (a weekly load). The first rule alone would prepare once
 * for a one-off load the next day: a larger max_wal_size for a slot costs
 * disk only if the WAL is really written.
 */
export function expectedNeed(memory: RecurringMemory | undefined, sample: Sample, leadSec: number): RecurringNeed | null {
  if (memory === undefined) return null;
  const atMs = toMs(sample.collected_at);
  const slotMs = (memory.periodSec * 1000) / RECURRING_SLOTS;
  const current = summarize(memory.index, memory.slots);
  const periods = [...memory.past, ...(current ? [current] : [])];
  const leadMs = leadSec * 1000;
  let best: RecurringNeed | null = null;
  let first: RecurringNeed | null = null;
  // The slots from now to the lead, then on through the rest of a load found there (its later slots may need more).
  for (let aheadMs = 0; aheadMs <= leadMs + RECURRING_SLOTS * slotMs; aheadMs += slotMs) {
    const found = needAt(memory.periodSec, periods, atMs + (aheadMs > leadMs && aheadMs < leadMs + slotMs ? leadMs : aheadMs));
    if (found === null && aheadMs >= leadMs) break;
    first ??= found;
    if (found !== null && (best === null || found.needMb > best.needMb)) best = found;
  }
  // Named by the slot where the load comes (or came) back, sized for its largest.
  return best && first && { ...best, slot: first.slot, slotAt: first.slotAt };
}

/** What a slot's history says about the instant: the need of a load that came back there, else null. */
function needAt(periodSec: number, periods: readonly PastPeriod[], atMs: number): RecurringNeed | null {
  const p = place(atMs, periodSec);
  const seen = periods
    .filter((x) => x.index < p.index && x.index >= p.index - RECURRING_PERIODS)
    .flatMap((x) => x.peaks.filter(([slot]) => slot === p.slot).map(([, mb]) => ({ ago: p.index - x.index, mb })));
  const previous = seen.find((s) => s.ago === 1);
  const second = [...seen].sort((a, b) => b.mb - a.mb)[1];
  const weekly = periodSec === DAY_SEC ? seen.find((s) => s.ago === RECURRING_PERIODS) : undefined;
  const candidates: Array<[RecurringNeed['rule'], number]> = [
    ['previous_period', previous?.mb ?? 0],
    ['two_of_last', second?.mb ?? 0],
    ['same_weekday', weekly?.mb ?? 0],
  ];
  const [rule, needMb] = candidates.reduce((a, b) => (b[1] > a[1] ? b : a));
  if (needMb === 0) return null;
  return {
    sizeMb: Math.ceil(needMb * RECURRING_HEADROOM),
    needMb,
    slotAt: toIso(p.slotStartMs),
    slot: p.slot,
    seenPeriodsAgo: seen.map((s) => s.ago).sort((a, b) => a - b),
    rule,
    periodSec,
  };
}

/** How far ahead the memory looks: long enough for a change to be decided, applied and in force before the load. */
export function recurringLeadSec(sample: Sample, periodSec: number): number {
  return Math.max(2 * sample.checkpoint_timeout_s, periodSec / RECURRING_SLOTS);
}

const RULE_TEXT: Record<RecurringNeed['rule'], string> = {
  previous_period: 'in the previous period',
  two_of_last: `in at least 2 of the last ${RECURRING_PERIODS} periods`,
  same_weekday: 'on the same weekday last week',
};

export function describeRecurring(n: RecurringNeed): string {
  return `recurring: a load that needed ${n.needMb} MB came back at this time of the ${n.periodSec} s period ${RULE_TEXT[n.rule]} (slot ${n.slot} of ${RECURRING_SLOTS}, from ${n.slotAt}; seen ${n.seenPeriodsAgo.join(', ')} period(s) ago)`;
}

export function recurringMetadata(n: RecurringNeed): Record<string, unknown> {
  return {
    trigger: 'recurring',
    recurring_need_mb: n.needMb,
    recurring_slot: n.slot,
    recurring_slot_at: n.slotAt,
    recurring_rule: n.rule,
    recurring_seen_periods_ago: n.seenPeriodsAgo,
    recurring_period_sec: n.periodSec,
    headroom: RECURRING_HEADROOM,
  };
}

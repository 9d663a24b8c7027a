import { z } from 'zod';
import type { Policy } from '../../config/policy.js';
import type { ReplicationSlot } from '../../disk-schemas.js';
import type { Sample } from '../../schemas.js';
import { toMs } from '../time.js';
import { segmentBytes } from '../wal-rate.js';
import { ceilMb, formatBytes, MB } from './holders.js';

/*
 * walrus.bound_slots (docs/DISK-SAFETY.md, "Bounding the slots"): with a
 * budget, max_slot_wal_keep_size is what the budget leaves after
 * max_wal_size, wal_keep_size and a margin, so that no slot can hold the
 * WAL volume full. PostgreSQL invalidates a slot whose WAL passes it at
 * its next checkpoint; invalidating a slot forces its consumer to be
 * rebuilt, so walrus never sets it below what
 *
 * - a slot being consumed right now needs to stay valid for
 *   walrus.slot_grace_sec more seconds of WAL at the current rate (its
 *   consumer may stall for that long), nor below what
 * - an inactive slot that walrus has warned about (it is at risk: it
 *   would pass the keep size within the grace, or holds 80 % of it) needs
 *   for the grace after the warning: it is invalidated no sooner than
 *   walrus.slot_grace_sec after its slot_retention alert fired.
 *
 * Pure: what the engine remembers is the warned slots (the cluster state's
 * `slotGrace`).
 */

/**
 * The margin kept free of both max_wal_size and slots, this share of the
 * budget but at least SLOT_BOUND_MARGIN_SEGMENTS segments: PostgreSQL
 * invalidates a slot only at a checkpoint (the slot passes the keep size
 * by up to a checkpoint's distance first), pg_wal also holds the segment
 * being written and the ones preallocated after it, and a warned slot's
 * grace may take up to half of it.
 */
export const SLOT_BOUND_MARGIN = 0.1;
export const SLOT_BOUND_MARGIN_SEGMENTS = 4;
/** A warned slot is forgotten once it holds less than this share of the bound and would take twice the grace to reach the keep size (it was advanced, the budget raised, or WAL slowed down). */
export const SLOT_SAFE_RATIO = 0.7;
/** A slot holding this share of the keep size is at risk (as slot_retention's 80 % of the budget). */
export const SLOT_AT_RISK_RATIO = 0.8;
/** Small moves of the keep size (a rate that varies) are not applied on their own: this share of the budget. */
export const SLOT_KEEP_TOLERANCE = 0.02;

const SlotName = z.string().min(1).max(63);
/** Warned slots: when the warning started and what the slot may hold until its grace ends (MB). */
export const SlotGraceSchema = z.record(SlotName, z.strictObject({ since: z.iso.datetime({ offset: true }), needMb: z.number().int().min(0) }));
export type SlotGrace = z.infer<typeof SlotGraceSchema>;

export interface SlotAtRisk {
  slot: ReplicationSlot;
  retainedBytes: number;
  /** Seconds until the slot's WAL reaches the keep size at the current rate; null when WAL is not being written. */
  etaSec: number | null;
  /** When its grace ends (ISO): PostgreSQL may invalidate it at the first checkpoint after. */
  graceEndsAt: string;
  /** What the grace needs (MB) when the budget cannot keep it (more than the bound and half the margin): it may then be invalidated before its grace ends. Null when the grace is kept. */
  graceShortOfMb: number | null;
}

export interface SlotBound {
  /** budget − max_wal_size − wal_keep_size − margin, at least 0. */
  boundMb: number;
  marginMb: number;
  /** The largest need of a protected slot (0 when none). */
  floorMb: number;
  /** What walrus wants max_slot_wal_keep_size to be: the bound, raised to the floor. */
  keepMb: number;
  /** The slot whose need sets the floor, when the floor passes the bound. */
  protecting: { name: string; why: 'active' | 'warned' } | null;
  /** Inactive slots at risk of invalidation (slot_retention fires for them). */
  atRisk: SlotAtRisk[];
  /** The warned slots to remember. */
  grace: SlotGrace;
  /** max_slot_wal_keep_size in force (MB, -1 unlimited), undefined when the sample does not say. */
  currentMb: number | undefined;
  /** Whether the keep size in force should change on its own (without a max_wal_size change). */
  changeNeeded: boolean;
  /** Why the keep size is what it is. */
  reason: string;
}

export interface SlotBoundInput {
  sample: Sample;
  policy: Policy;
  /** The max_wal_size that will be in force (a decision's new size, or the current one). */
  targetMb: number;
  /** WAL written per second now (the tracker's freshest rate), null when unknown. */
  walRateBytesPerSec: number | null;
  grace: SlotGrace | undefined;
}

const holdsWal = (s: ReplicationSlot): s is ReplicationSlot & { retained_bytes: number } =>
  s.retained_bytes !== null && s.wal_status !== 'lost' && (s.invalidation_reason ?? null) === null;

/** The margin of the bound for this budget and the sample's segment size (SLOT_BOUND_MARGIN). */
export function slotBoundMarginMb(budgetMb: number, sample: Sample): number {
  return Math.max(Math.ceil(budgetMb * SLOT_BOUND_MARGIN), Math.ceil((SLOT_BOUND_MARGIN_SEGMENTS * segmentBytes(sample)) / MB));
}

/** The keep size for this sample, or null when slots are not bounded (walrus.bound_slots off, or no budget). */
export function slotBound(input: SlotBoundInput): SlotBound | null {
  const { sample, policy } = input;
  const budgetMb = policy.walDiskBudgetMb;
  if (!policy.boundSlots || budgetMb === null) return null;
  const nowMs = toMs(sample.collected_at);
  const rate = Math.max(input.walRateBytesPerSec ?? 0, 0);
  const graceBytes = rate * policy.slotGraceSec;
  const marginMb = slotBoundMarginMb(budgetMb, sample);
  const walKeepMb = sample.wal_keep_size_mb ?? 0;
  const boundMb = Math.max(0, budgetMb - input.targetMb - walKeepMb - marginMb);
  // A warned slot's grace never takes more than half the margin: past it, the budget itself would not hold.
  const promiseCapMb = boundMb + Math.floor(marginMb / 2);
  const slots = (sample.replication_slots ?? []).filter(holdsWal);
  const before = input.grace ?? {};

  // What each protected slot needs: an active one, its WAL plus the grace's; a warned one, what it was promised.
  let floorMb = 0;
  let protecting: SlotBound['protecting'] = null;
  const need = (name: string, mb: number, why: 'active' | 'warned') => {
    if (mb > floorMb) {
      floorMb = mb;
      protecting = { name, why };
    }
  };
  const grace: SlotGrace = {};
  for (const s of slots) {
    const warned = before[s.name];
    if (s.active) need(s.name, ceilMb(s.retained_bytes + graceBytes), 'active');
    else if (warned) {
      grace[s.name] = warned;
      if (nowMs < toMs(warned.since) + policy.slotGraceSec * 1000) need(s.name, Math.min(warned.needMb, promiseCapMb), 'warned');
    }
  }
  let keepMb = Math.max(boundMb, floorMb);

  // Inactive slots at risk under that keep size: warned now (if not already), and promised the grace.
  const atRisk: SlotAtRisk[] = [];
  for (const s of slots) {
    if (s.active) continue;
    const room = keepMb * MB - s.retained_bytes;
    const etaSec = rate > 0 ? Math.max(0, room / rate) : null;
    const risky = s.retained_bytes >= SLOT_AT_RISK_RATIO * keepMb * MB || (etaSec !== null && etaSec <= policy.slotGraceSec);
    // Once warned, a slot stays warned (its promise fixed, so that a varying rate cannot raise it again and again)
    // until it is clearly safe, dropped, consumed again or lost.
    const safe = s.retained_bytes < SLOT_SAFE_RATIO * boundMb * MB && (etaSec === null || etaSec > 2 * policy.slotGraceSec);
    if (grace[s.name] && safe) delete grace[s.name];
    if (!grace[s.name] && !risky) continue;
    const warned = grace[s.name] ?? { since: sample.collected_at, needMb: ceilMb(s.retained_bytes + graceBytes) };
    if (!grace[s.name]) {
      grace[s.name] = warned;
      if (nowMs < toMs(warned.since) + policy.slotGraceSec * 1000) need(s.name, Math.min(warned.needMb, promiseCapMb), 'warned');
    }
    atRisk.push({
      slot: s,
      retainedBytes: s.retained_bytes,
      etaSec,
      graceEndsAt: new Date(toMs(warned.since) + policy.slotGraceSec * 1000).toISOString(),
      graceShortOfMb: warned.needMb > promiseCapMb ? warned.needMb : null,
    });
  }
  keepMb = Math.max(boundMb, floorMb);

  const currentMb = sample.max_slot_wal_keep_size_mb;
  const toleranceMb = Math.max(1, Math.ceil(budgetMb * SLOT_KEEP_TOLERANCE));
  const changeNeeded =
    currentMb !== undefined && (currentMb === -1 || currentMb > keepMb + toleranceMb || currentMb < floorMb || currentMb < keepMb - toleranceMb);
  const p = protecting as SlotBound['protecting'];
  const warnedNeedMb = p?.why === 'warned' ? (grace[p.name]?.needMb ?? 0) : 0;
  const reason =
    `max_slot_wal_keep_size ${keepMb} MB: walrus.wal_disk_budget ${budgetMb} MB − max_wal_size ${input.targetMb} MB − wal_keep_size ${walKeepMb} MB − margin ${marginMb} MB` +
    (boundMb === 0 && budgetMb - input.targetMb - walKeepMb - marginMb < 0 ? ' leaves nothing' : ` = ${boundMb} MB`) +
    (p && floorMb > boundMb
      ? `; raised to ${floorMb} MB so that ${p.why === 'active' ? 'the active' : 'the warned'} slot ${p.name} stays valid for walrus.slot_grace_sec ${policy.slotGraceSec} s` +
        (p.why === 'active' ? ` of WAL at ${formatBytes(rate)}/s` : ' after its warning') +
        // The budget wins over the grace: say so rather than promise what the keep size cannot hold.
        (p.why === 'warned' && warnedNeedMb > floorMb
          ? ` as far as the budget allows (its grace needs ${warnedNeedMb} MB, more than the bound and half the margin: it may be invalidated before its grace ends)`
          : '')
      : '');
  return { boundMb, marginMb, floorMb, keepMb, protecting: p, atRisk, grace, currentMb, changeNeeded, reason };
}

/** One line for an at-risk slot's alert: how close it is, and when it may go. */
export function describeAtRisk(r: SlotAtRisk, keepMb: number, idleTimeoutSec: number | undefined): string {
  const s = r.slot;
  return (
    `replication slot ${s.name} (inactive) holds ${formatBytes(r.retainedBytes)}: max_slot_wal_keep_size ${keepMb} MB (walrus.bound_slots) invalidates it` +
    (r.etaSec === null ? ' once it holds more' : ` in about ${Math.round(r.etaSec)} s at the current WAL rate`) +
    (r.graceShortOfMb === null
      ? `, not before the end of its grace at ${r.graceEndsAt}`
      : `, possibly before the end of its grace at ${r.graceEndsAt}: the grace needs ${r.graceShortOfMb} MB at the current WAL rate, more than walrus.wal_disk_budget leaves`) +
    (s.inactive_since ? `; inactive since ${s.inactive_since}` : '') +
    (idleTimeoutSec !== undefined && idleTimeoutSec > 0 ? `; idle_replication_slot_timeout ${idleTimeoutSec} s also invalidates an idle slot` : '')
  );
}

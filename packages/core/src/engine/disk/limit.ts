import { z } from 'zod';
import type { Policy } from '../../config/policy.js';
import type { Sample } from '../../schemas.js';
import { ceilMb, describeHolders, diskHolders, type DiskHolders } from './holders.js';
import { slotBoundMarginMb } from './slot-bound.js';

/** A shrink for the disk goes this share of the budget below the limit, so that a slot still growing does not ask for a change at every sample. */
export const DISK_SHRINK_STEP = 0.1;

/** What the engine keeps between samples: the cluster state's `disk`. */
export const DiskMemorySchema = z.strictObject({
  /** WAL the slots held at the last sample that reported them, MB (rounded up). */
  slotMb: z.number().int().min(0),
});
export type DiskMemory = z.infer<typeof DiskMemorySchema>;

/**
 * The WAL disk budget rule (docs/DISK-SAFETY.md): no decision sets
 * max_wal_size above
 *
 *     walrus.wal_disk_budget − WAL held by replication slots − wal_keep_size
 *
 * and never below walrus.min_size. The three are added, not overlapped: WAL
 * a slot holds and WAL kept for wal_keep_size may lie partly inside the last
 * max_wal_size of WAL, but counting them apart is the bound that holds
 * whatever the slot and the checkpoints do next.
 *
 * A slot that grew since the last sample is expected to grow as much again
 * before the next one, when walrus can look again: that growth is kept free
 * too (the reserve), so that max_wal_size plus what the slots hold stays
 * within the budget between samples, not only at them.
 */
export interface WalDiskLimit {
  budgetMb: number;
  holders: DiskHolders;
  /** The slots' WAL in whole MB, rounded up. */
  slotRetainedMb: number;
  /** How much the slots' WAL grew since the last sample: kept free for the next interval. */
  reserveMb: number;
  /** budget − slots − wal_keep_size − reserve (− the slot bound's margin under walrus.bound_slots): what is left for max_wal_size (may be below walrus.min_size, or negative). */
  roomMb: number;
  /** walrus.bound_slots: the margin kept free of max_wal_size too (0 without it). */
  marginMb: number;
  /** The largest max_wal_size walrus may set: the room, but at least walrus.min_size. Above it, walrus shrinks. */
  limitMb: number;
  /**
   * The largest size a growth may set: the limit, or, while the slots' WAL
   * is growing, a shrink step below it (never below walrus.min_size), so
   * that walrus does not grow into room a growing slot takes back at the
   * next sample (a capped growth and a shrink in turn).
   */
  growLimitMb: number;
  /** The room is below walrus.min_size: the floor wins, and the budget cannot be kept by max_wal_size alone. */
  floored: boolean;
}

/** What to remember after this sample: what its slots hold, or the last memory when it does not report slots. */
export function diskMemory(sample: Sample, previous: DiskMemory | null): DiskMemory | null {
  if (sample.replication_slots === undefined) return previous;
  return { slotMb: ceilMb(diskHolders(sample).slotRetainedBytes) };
}

/** The limit in force for this sample, or null when the cluster has no budget. `previous` is the memory of the last sample (diskMemory). */
export function walDiskLimit(sample: Sample, policy: Policy, previous: DiskMemory | null = null): WalDiskLimit | null {
  const budgetMb = policy.walDiskBudgetMb;
  if (budgetMb === null) return null;
  const holders = diskHolders(sample);
  const slotRetainedMb = ceilMb(holders.slotRetainedBytes);
  const reserveMb = previous !== null && sample.replication_slots !== undefined ? Math.max(0, slotRetainedMb - previous.slotMb) : 0;
  // walrus.bound_slots: max_wal_size leaves the bound's margin free too, so that the slots' keep size never has to be negative.
  const marginMb = policy.boundSlots ? slotBoundMarginMb(budgetMb, sample) : 0;
  const roomMb = budgetMb - slotRetainedMb - holders.walKeepMb - reserveMb - marginMb;
  const floored = roomMb < policy.minSizeMb;
  const limitMb = floored ? policy.minSizeMb : roomMb;
  const growLimitMb = reserveMb > 0 ? Math.max(limitMb - shrinkStepMb(budgetMb), policy.minSizeMb) : limitMb;
  return { budgetMb, holders, slotRetainedMb, reserveMb, marginMb, roomMb, limitMb, growLimitMb, floored };
}

const shrinkStepMb = (budgetMb: number): number => Math.ceil(budgetMb * DISK_SHRINK_STEP);

const reserveText = (l: WalDiskLimit): string => (l.reserveMb > 0 ? `; ${l.reserveMb} MB kept free for the slots' growth until the next sample (their growth since the last)` : '');

/** Why the limit is what it is, e.g. "walrus.wal_disk_budget 256 MB leaves 106 MB for max_wal_size: replication slot s1 (…) holds 150 MB, wal_keep_size 0 MB". */
export function describeLimit(l: WalDiskLimit, minSizeMb: number): string {
  return (
    `walrus.wal_disk_budget ${l.budgetMb} MB leaves ${Math.max(l.roomMb, 0)} MB for max_wal_size: ${describeHolders(l.holders)}` +
    reserveText(l) +
    (l.marginMb > 0 ? `; ${l.marginMb} MB margin kept free (walrus.bound_slots)` : '') +
    (l.floored ? `; walrus.min_size ${minSizeMb} MB is the floor` : '') +
    (l.growLimitMb < l.limitMb ? `; while the slots keep growing, a growth stops ${l.limitMb - l.growLimitMb} MB lower, at ${l.growLimitMb} MB` : '')
  );
}

/** Decision metadata of a decision the limit shaped. */
export function limitMetadata(l: WalDiskLimit): Record<string, unknown> {
  return {
    wal_disk_budget_mb: l.budgetMb,
    wal_disk_limit_mb: l.limitMb,
    ...(l.growLimitMb < l.limitMb ? { wal_disk_grow_limit_mb: l.growLimitMb } : {}),
    slot_retained_mb: l.slotRetainedMb,
    ...(l.holders.slot ? { retaining_slot: l.holders.slot.name } : {}),
    wal_keep_size_mb: l.holders.walKeepMb,
    ...(l.reserveMb > 0 ? { slot_growth_reserve_mb: l.reserveMb } : {}),
  };
}

/** What a shrink for the disk says and records; the engine makes it a `decrease`. */
export interface DiskShrink {
  targetMb: number;
  reason: string;
  metadata: Record<string, unknown>;
}

/**
 * max_wal_size plus what the slots and wal_keep_size hold passes the budget
 * (a slot kept growing after the last decision, or the budget was lowered):
 * shrink below the limit by DISK_SHRINK_STEP of the budget, never below
 * walrus.min_size. The step bounds the changes a stuck slot causes (about
 * ten from the budget down to the floor) however often walrus samples.
 * Called only when current > limitMb.
 */
export function diskShrink(l: WalDiskLimit, currentMb: number, minSizeMb: number): DiskShrink {
  // current > limit means this passes the budget (or the floor was passed already).
  const total = currentMb + l.slotRetainedMb + l.holders.walKeepMb + l.reserveMb;
  const stepMb = shrinkStepMb(l.budgetMb);
  const targetMb = Math.max(l.limitMb - stepMb, minSizeMb);
  return {
    targetMb,
    reason:
      `WAL disk budget: max_wal_size ${currentMb} MB + ${l.slotRetainedMb} MB held by slots + wal_keep_size ${l.holders.walKeepMb} MB` +
      (l.reserveMb > 0 ? ` + ${l.reserveMb} MB the slots may grow by the next sample` : '') +
      ` = ${total} MB passes walrus.wal_disk_budget ${l.budgetMb} MB (${describeHolders(l.holders)}); shrinking to ${targetMb} MB` +
      (targetMb === minSizeMb
        ? l.floored
          ? ` (walrus.min_size ${minSizeMb} MB: the budget cannot be kept by max_wal_size alone)`
          : ` (walrus.min_size)`
        : `, ${stepMb} MB below the limit ${l.limitMb} MB so that a growing slot does not ask for a change at every sample`),
    metadata: { ...limitMetadata(l), trigger: 'wal_disk_budget', shrink_step_mb: stepMb, min_size_mb: minSizeMb },
  };
}

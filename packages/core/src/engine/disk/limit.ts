import type { Policy } from '../../config/policy.js';
import type { Sample } from '../../schemas.js';
import { ceilMb, describeHolders, diskHolders, type DiskHolders } from './holders.js';

/**
 * The WAL disk budget rule (README "Disk safety"): no decision sets
 * max_wal_size above
 *
 *     walrus.wal_disk_budget − WAL held by replication slots − wal_keep_size
 *
 * and never below walrus.min_size. The three are added, not overlapped: WAL
 * a slot holds and WAL kept for wal_keep_size may lie partly inside the last
 * max_wal_size of WAL, but counting them apart is the bound that holds
 * whatever the slot and the checkpoints do next.
 */
export interface WalDiskLimit {
  budgetMb: number;
  holders: DiskHolders;
  /** The slots' WAL in whole MB, rounded up. */
  slotRetainedMb: number;
  /** budget − slots − wal_keep_size: what is left for max_wal_size (may be below walrus.min_size, or negative). */
  roomMb: number;
  /** The largest max_wal_size walrus may set: the room, but at least walrus.min_size. */
  limitMb: number;
  /** The room is below walrus.min_size: the floor wins, and the budget cannot be kept by max_wal_size alone. */
  floored: boolean;
}

/** The limit in force for this sample, or null when the cluster has no budget. */
export function walDiskLimit(sample: Sample, policy: Policy): WalDiskLimit | null {
  const budgetMb = policy.walDiskBudgetMb;
  if (budgetMb === null) return null;
  const holders = diskHolders(sample);
  const slotRetainedMb = ceilMb(holders.slotRetainedBytes);
  const roomMb = budgetMb - slotRetainedMb - holders.walKeepMb;
  const floored = roomMb < policy.minSizeMb;
  return { budgetMb, holders, slotRetainedMb, roomMb, limitMb: floored ? policy.minSizeMb : roomMb, floored };
}

/** Why the limit is what it is, e.g. "walrus.wal_disk_budget 256 MB − replication slot s1 (…) holds 150 MB, wal_keep_size 0 MB". */
export function describeLimit(l: WalDiskLimit, minSizeMb: number): string {
  return (
    `walrus.wal_disk_budget ${l.budgetMb} MB leaves ${Math.max(l.roomMb, 0)} MB for max_wal_size: ${describeHolders(l.holders)}` +
    (l.floored ? `; walrus.min_size ${minSizeMb} MB is the floor` : '')
  );
}

/** Decision metadata of a decision the limit shaped. */
export function limitMetadata(l: WalDiskLimit): Record<string, unknown> {
  return {
    wal_disk_budget_mb: l.budgetMb,
    wal_disk_limit_mb: l.limitMb,
    slot_retained_mb: l.slotRetainedMb,
    ...(l.holders.slot ? { retaining_slot: l.holders.slot.name } : {}),
    wal_keep_size_mb: l.holders.walKeepMb,
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
 * shrink straight to the limit. Called only when current > limitMb.
 */
export function diskShrink(l: WalDiskLimit, currentMb: number, minSizeMb: number): DiskShrink {
  const total = currentMb + l.slotRetainedMb + l.holders.walKeepMb;
  return {
    targetMb: l.limitMb,
    reason:
      `WAL disk budget: max_wal_size ${currentMb} MB + ${l.slotRetainedMb} MB held by slots + wal_keep_size ${l.holders.walKeepMb} MB = ${total} MB ` +
      `passes walrus.wal_disk_budget ${l.budgetMb} MB (${describeHolders(l.holders)}); shrinking to ${l.limitMb} MB` +
      (l.floored ? ` (walrus.min_size ${minSizeMb} MB: the budget cannot be kept by max_wal_size alone)` : ''),
    metadata: { ...limitMetadata(l), trigger: 'wal_disk_budget', min_size_mb: minSizeMb },
  };
}

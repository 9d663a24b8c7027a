import type { ReplicationSlot } from '../../disk-schemas.js';
import type { Sample } from '../../schemas.js';

export const MB = 1024 * 1024;

/** Bytes as whole MB, rounded up: what holds the disk is never understated. */
export const ceilMb = (bytes: number): number => Math.ceil(bytes / MB);

/** A byte count as people read it in a reason or an alert: "212 MB", "1.5 GB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 10 * 1024 * MB) return `${Math.round(bytes / (1024 * MB))} GB`;
  if (bytes >= 1024 * MB) return `${(bytes / (1024 * MB)).toFixed(1)} GB`;
  return `${ceilMb(bytes)} MB`;
}

/** What keeps WAL on disk besides max_wal_size, as far as the sample tells. */
export interface DiskHolders {
  /** The slot holding the most WAL (the oldest restart_lsn), or null when no slot holds any. */
  slot: ReplicationSlot | null;
  /** Bytes that slot holds (0 when none). */
  slotRetainedBytes: number;
  /** Slots holding WAL. */
  slotsHolding: number;
  /** wal_keep_size in MB (0 when the sample does not say). */
  walKeepMb: number;
}

/**
 * Slots share WAL: PostgreSQL keeps everything from the oldest restart_lsn
 * on, so what the slots hold together is what the slot furthest behind
 * holds, not the sum of theirs. A lost slot (or one that never reserved WAL)
 * holds nothing.
 */
export function diskHolders(sample: Sample): DiskHolders {
  let slot: ReplicationSlot | null = null;
  let slotsHolding = 0;
  for (const s of sample.replication_slots ?? []) {
    if (s.retained_bytes === null || s.retained_bytes <= 0) continue;
    slotsHolding += 1;
    if (slot === null || s.retained_bytes > (slot.retained_bytes ?? 0)) slot = s;
  }
  return { slot, slotRetainedBytes: slot?.retained_bytes ?? 0, slotsHolding, walKeepMb: sample.wal_keep_size_mb ?? 0 };
}

/** "physical, inactive, wal_status extended" */
export function describeSlot(s: ReplicationSlot): string {
  return `${s.type}, ${s.active ? 'active' : 'inactive'}${s.wal_status ? `, wal_status ${s.wal_status}` : ''}`;
}

/** One phrase naming what holds the disk, in MB like every size in a decision's reason, e.g. "replication slot standby1 (physical, inactive) holds 212 MB, wal_keep_size 0 MB". */
export function describeHolders(h: DiskHolders): string {
  const slot = h.slot
    ? `replication slot ${h.slot.name} (${describeSlot(h.slot)}) holds ${ceilMb(h.slotRetainedBytes)} MB` +
      (h.slotsHolding > 1 ? ` (the oldest of ${h.slotsHolding} slots holding WAL)` : '')
    : 'no replication slot holds WAL';
  return `${slot}, wal_keep_size ${h.walKeepMb} MB`;
}

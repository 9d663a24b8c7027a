import type { Policy } from '../../config/policy.js';
import type { Sample } from '../../schemas.js';
import type { ClusterState } from '../state/current.js';
import { archiverBacklog, etaOf, type ForecastCause } from './forecast.js';
import { MB } from './holders.js';

/** What `walrus status` and the live page show of the WAL volume (docs/DISK-SAFETY.md): from the stored state and the freshest sample. */
export interface WalVolumeStatus {
  /** walrus.wal_disk_budget in force (MB), null without one. */
  wal_disk_budget_mb: number | null;
  /** walrus.bound_slots in force (it acts only with a budget). */
  bound_slots: boolean;
  /** max_slot_wal_keep_size in force (MB, -1 unlimited), null when no sample said. */
  max_slot_wal_keep_size_mb: number | null;
  /** What pg_wal holds, null when no sample said. */
  pg_wal_bytes: number | null;
  /** Segments waiting to be archived and their bytes; null with archiving off or when no sample said. */
  archiver_backlog_segments: number | null;
  archiver_backlog_bytes: number | null;
  /** Seconds until pg_wal reaches the budget at the current trend, and what grows; null when nothing grows or there is no budget. */
  wal_disk_forecast_sec: number | null;
  wal_disk_forecast_cause: ForecastCause | null;
  /** The slot, when a slot is the cause. */
  wal_disk_forecast_slot: string | null;
}

export function walVolumeStatus(state: ClusterState | null, sample: Sample | null, policy: Policy): WalVolumeStatus {
  const backlog = sample && sample.archiver?.mode !== 'off' ? archiverBacklog(sample) : null;
  const memory = state?.forecast ?? null;
  const eta = memory && policy.walDiskBudgetMb !== null ? etaOf(memory, policy.walDiskBudgetMb * MB) : null;
  return {
    wal_disk_budget_mb: policy.walDiskBudgetMb,
    bound_slots: policy.boundSlots,
    max_slot_wal_keep_size_mb: sample?.max_slot_wal_keep_size_mb ?? null,
    pg_wal_bytes: sample?.pg_wal_bytes ?? null,
    archiver_backlog_segments: backlog?.segments ?? null,
    archiver_backlog_bytes: backlog?.bytes ?? null,
    wal_disk_forecast_sec: eta?.etaSec ?? null,
    wal_disk_forecast_cause: eta?.cause ?? null,
    wal_disk_forecast_slot: eta?.cause === 'replication_slot' ? (memory?.slot?.name ?? null) : null,
  };
}

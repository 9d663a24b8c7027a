import type { Sample } from '../schemas.js';
import type { ClusterState } from './state.js';
import { requiredSizeMb, WAL_STATE_KEY, type WalRateState } from './wal-rate.js';

/** What a status view shows of the sizing state: the engine's own reading of ClusterState.algo. */
export interface SizingStatus {
  /** The time profile in force at the last evaluated sample, null when none. */
  active_profile: string | null;
  /** WAL rate over the last whole checkpoint interval (bytes/s), null until one was measured. */
  wal_rate_bytes_per_second: number | null;
  /** Its moving average (adaptive's estimate). */
  wal_rate_ema_bytes_per_second: number | null;
  /** The formula's size for that rate at the sample's settings (MB). */
  required_size_mb: number | null;
}

export function sizingStatus(state: ClusterState | null, sample: Sample | null): SizingStatus {
  const wal = state?.algo[WAL_STATE_KEY] as WalRateState | undefined;
  const rate = wal?.intervals.at(-1) ?? null;
  const profile = state?.algo['profile'];
  return {
    active_profile: typeof profile === 'string' ? profile : null,
    wal_rate_bytes_per_second: rate,
    wal_rate_ema_bytes_per_second: wal?.ema ?? null,
    required_size_mb: rate !== null && sample ? requiredSizeMb(rate, sample) : null,
  };
}

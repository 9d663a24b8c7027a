import type { Sample, SizingStatus } from '../schemas.js';
import type { ClusterState } from './state/current.js';
import { requiredSizeMb } from './wal-rate.js';

/** What a status view shows of the sizing state (schemas.ts SizingStatusV1): the engine's own reading of the cluster state. */
export function sizingStatus(state: ClusterState | null, sample: Sample | null): SizingStatus {
  const wal = state?.walRate ?? null;
  const rate = wal?.intervals.at(-1) ?? null;
  return {
    active_profile: state?.activeProfile ?? null,
    wal_rate_bytes_per_second: rate,
    wal_rate_ema_bytes_per_second: wal?.ema ?? null,
    required_size_mb: rate !== null && sample ? requiredSizeMb(rate, sample) : null,
  };
}

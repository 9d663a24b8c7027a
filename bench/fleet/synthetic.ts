import type { Sample } from '@walrus/core';

/** Cluster ids of the synthetic fleet. */
export const clusterId = (i: number): string => `fleet-${String(i).padStart(5, '0')}`;

const T0 = Date.parse('2026-01-01T00:00:00Z');

/**
 * Sample `round` of cluster `i`: one more requested checkpoint each round at
 * a constant max_wal_size, so that (with threshold 1 and no rate limits)
 * every sample after the baseline is an increase decision: every sample costs
 * the decider the most it can (state read, evaluation, decision publish,
 * state write).
 */
export function syntheticSample(i: number, round: number): Sample {
  return {
    v: 1,
    cluster: clusterId(i),
    collected_at: new Date(T0 + round * 60_000).toISOString(),
    server_version_num: 170000,
    in_recovery: false,
    checkpoints_requested: round,
    checkpoints_timed: 0,
    stats_reset: null,
    wal_lsn: '0/1000000',
    wal_bytes: 16777216 + round,
    max_wal_size_mb: 1024,
    checkpoint_timeout_s: 60,
    checkpoint_completion_target: 0.9,
    settings: {},
  };
}

/** Decider policy for the benchmark: every interval with a forced checkpoint grows, nothing is rate-limited. */
export const BENCH_POLICY: Record<string, string> = {
  WALRUS_THRESHOLD: '1',
  WALRUS_MAX: '1TB',
  WALRUS_COOLDOWN_SEC: '0',
  WALRUS_MAX_CHANGES_PER_HOUR: '1000',
};

import { decisionId, type Decision } from '@walrus/core';
import { T0 } from './fleet.js';

/** A valid executable decision for `cluster`, n minutes after T0 (its id as the decider derives it). */
export function decisionFor(cluster: string, n: number, over: Partial<Decision> = {}): Decision {
  const sampleAt = new Date(T0 + n * 60_000).toISOString();
  return {
    v: 1,
    id: decisionId(cluster, sampleAt),
    cluster,
    decided_at: new Date().toISOString(),
    sample_at: sampleAt,
    action: 'increase',
    old_size_mb: 1024,
    new_size_mb: 2048,
    forced_checkpoints: 1 + (n % 5),
    checkpoint_timeout_sec: 300,
    algorithm: 'multiplicative',
    reason: 'synthetic decision of a fault test',
    metadata: {},
    ...over,
  };
}

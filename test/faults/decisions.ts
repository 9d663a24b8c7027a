import { decisionId, type Decision } from '@walrus/core';
import { testDecision } from '../harness/messages.js';
import { T0 } from './fleet.js';

/** A valid executable decision for `cluster`, n minutes after T0 (its id as the decider derives it). */
export function decisionFor(cluster: string, n: number, over: Partial<Decision> = {}): Decision {
  const sampleAt = new Date(T0 + n * 60_000).toISOString();
  return testDecision(cluster, {
    id: decisionId(cluster, sampleAt),
    sample_at: sampleAt,
    old_size_mb: 1024,
    new_size_mb: 2048,
    forced_checkpoints: 1 + (n % 5),
    reason: 'synthetic decision of a fault test',
    ...over,
  });
}

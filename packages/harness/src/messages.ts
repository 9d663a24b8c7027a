import { randomUUID } from 'node:crypto';
import type { Decision } from '@walrus/core';

/**
 * A valid executable Decision v1, as a decider would publish it, for those
 * that feed the applier or the historian directly. Overrides win.
 */
export function testDecision(cluster: string, over: Partial<Decision> = {}): Decision {
  const now = new Date().toISOString();
  return {
    v: 1,
    id: randomUUID(),
    cluster,
    decided_at: now,
    sample_at: now,
    action: 'increase',
    old_size_mb: 64,
    new_size_mb: 128,
    forced_checkpoints: 3,
    checkpoint_timeout_sec: 300,
    algorithm: 'multiplicative',
    reason: 'test',
    metadata: {},
    ...over,
  };
}

import { formulaGrowth } from './formula.js';
import type { GrowInput, GrowProposal } from './types.js';

/** Headroom of a proactive growth under the algorithms that do not size from the rate themselves. */
export const PROACTIVE_HEADROOM = 1.2;

/**
 * walrus.proactive_sizing for multiplicative and additive: when their own
 * rule proposes nothing (fewer forced checkpoints than the threshold), grow
 * to the formula size if the WAL rate of the last whole checkpoint interval,
 * or a clearly higher newest rate, needs more than max_wal_size allows.
 */
export function proactiveGrowth(input: GrowInput): GrowProposal | null {
  const last = input.wal?.rate.intervals.at(-1) ?? null;
  // Only the proactive path: forced checkpoints are the algorithm's own business.
  const wal = input.wal && { ...input.wal, causes: { ...input.wal.causes, walCaused: 0 }, recentForced: 0 };
  return formulaGrowth(
    { ...input, wal },
    { rate: last, label: 'the WAL rate of the last checkpoint interval', headroom: PROACTIVE_HEADROOM, metadata: {} },
  );
}

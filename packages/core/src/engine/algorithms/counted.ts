import type { GrowInput } from './types.js';

/** What pg_walrus's rule counts at this sample, and over what. */
export interface CountedCheckpoints {
  count: number;
  /** Words for reasons: "in the interval" at pg_walrus's own interval, else "over the last checkpoint_timeout". */
  over: string;
}

/**
 * multiplicative and additive count forced checkpoints per
 * checkpoint_timeout, as pg_walrus does, however often samples come: over
 * the last checkpoint_timeout since the last change, so that each forced
 * checkpoint counts once toward a growth and sampling more often only ever
 * makes walrus react sooner (issue 25, item 5). They act only at a sample
 * that brought a new one: a count that reached the threshold earlier was
 * acted on then (or held back by a rate limit, and is tried again with the
 * next forced checkpoint rather than at every sample until it fades). At
 * one sample per checkpoint_timeout the window is the interval itself, and
 * the decisions are pg_walrus's.
 */
export function countedCheckpoints({ delta, wal }: GrowInput): CountedCheckpoints {
  const recent = wal?.recentRequested;
  if (recent === undefined || delta === 0 || recent <= delta) return { count: delta, over: 'in the interval' };
  return { count: recent, over: `over the last checkpoint_timeout (${delta} in this sample interval)` };
}

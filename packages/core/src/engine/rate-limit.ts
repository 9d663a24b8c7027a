import type { Policy } from '../config/policy.js';
import type { ClusterState } from './state/current.js';
import { toIso, toMs } from './time.js';

/** The hourly window lasts one hour from the change that opened it (pg_walrus). */
export const HOUR_WINDOW_MS = 3600 * 1000;

/** `no_effect`: held back because the last growth for the same cause did not reduce forced checkpoints (effect.ts). */
export type BlockedBy = 'cooldown' | 'hourly_limit' | 'no_effect';

export interface RateLimitBlock {
  blockedBy: BlockedBy;
  /** When the block ends (ISO), or null when it never ends by itself (max_changes_per_hour = 0). */
  until: string | null;
  reason: string;
  metadata: Record<string, unknown>;
}

function windowOpen(state: ClusterState, atMs: number): boolean {
  return state.hourWindowStart !== null && atMs < toMs(state.hourWindowStart) + HOUR_WINDOW_MS;
}

/**
 * Whether a change at `atMs` (the sample's collected_at) is allowed, checked
 * in pg_walrus's order: max_changes_per_hour = 0 (an emergency stop), then
 * the cooldown, then the hourly window. The cooldown ends exactly at
 * last_adjustment + cooldown_sec: a change at that instant is allowed.
 *
 * An urgent change (a shrink for the WAL disk budget) passes the cooldown
 * and the hourly window: those protect against flapping, and a disk filling
 * up cannot wait an hour. Such a shrink only ever goes down while the disk
 * is over budget, and it counts like any change, so the growth that could
 * follow it is rate-limited as usual. The emergency stop still holds.
 */
export function checkRateLimit(state: ClusterState, policy: Policy, atMs: number, opts: { urgent?: boolean } = {}): RateLimitBlock | null {
  if (policy.maxChangesPerHour === 0) {
    return {
      blockedBy: 'hourly_limit',
      until: null,
      reason: 'walrus.max_changes_per_hour = 0 blocks every automatic change',
      metadata: { max_changes_per_hour: 0, changes_this_hour: state.changesThisHour },
    };
  }
  if (opts.urgent) return null;

  if (policy.cooldownSec > 0 && state.lastAdjustmentAt !== null) {
    const endMs = toMs(state.lastAdjustmentAt) + policy.cooldownSec * 1000;
    if (atMs < endMs) {
      return {
        blockedBy: 'cooldown',
        until: toIso(endMs),
        reason: `cooldown of ${policy.cooldownSec} s after the change at ${state.lastAdjustmentAt} lasts until ${toIso(endMs)}`,
        metadata: {
          cooldown_sec: policy.cooldownSec,
          cooldown_remaining_sec: Math.ceil((endMs - atMs) / 1000),
          last_adjustment_at: state.lastAdjustmentAt,
        },
      };
    }
  }

  if (windowOpen(state, atMs) && state.changesThisHour >= policy.maxChangesPerHour && state.hourWindowStart !== null) {
    const until = toIso(toMs(state.hourWindowStart) + HOUR_WINDOW_MS);
    return {
      blockedBy: 'hourly_limit',
      until,
      reason: `${state.changesThisHour} of ${policy.maxChangesPerHour} changes already made in the hour window that opened at ${state.hourWindowStart}; it closes at ${until}`,
      metadata: {
        max_changes_per_hour: policy.maxChangesPerHour,
        changes_this_hour: state.changesThisHour,
        hour_window_start: state.hourWindowStart,
      },
    };
  }

  return null;
}

/**
 * Counts a change (executed or dry run) made at `atMs`: it starts the
 * cooldown and counts in the hour window, opening a new window when none is
 * open or the last one has expired. Skipped decisions are not changes and
 * never come here: counting them would let a blocked change extend its own
 * block for ever.
 */
export function recordChange(state: ClusterState, atMs: number): ClusterState {
  const open = windowOpen(state, atMs);
  return {
    ...state,
    lastAdjustmentAt: toIso(atMs),
    hourWindowStart: open ? state.hourWindowStart : toIso(atMs),
    changesThisHour: open ? state.changesThisHour + 1 : 1,
  };
}

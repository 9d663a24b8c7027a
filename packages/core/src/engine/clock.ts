import type { Sample } from '../schemas.js';
import type { ClusterState } from './state/current.js';
import { toIso, toMs } from './time.js';

/*
 * Rule 1 (ARCHITECTURE §4) ignores a sample that is not newer than the last
 * one evaluated, which is right for a redelivered or reordered sample and
 * wrong for a clock that jumped: one sample dated a year ahead (a collector
 * host whose clock jumped) would have every later sample ignored for a year,
 * and a clock that jumps back would have its samples ignored until it
 * catches up. What the deciders do about it, as pure functions:
 *
 * - ahead: a sample dated further ahead of the decider's clock than the
 *   tolerance (WALRUS_MAX_CLOCK_SKEW_SEC) is never evaluated, so it can
 *   never become the cluster's last sample (the decider dead-letters it);
 * - back: a sample that comes later in stream order but is dated before the
 *   last one evaluated, while the NATS server's clock (the time JetStream
 *   stored each sample) says more time went by than the collector's clock
 *   does, by more than the tolerance, is a clock that went back, not a
 *   reordering: the cluster is re-baselined on it instead of ignoring it.
 *
 * Within the tolerance nothing changes: a clock a minute off costs at most
 * a minute of ignored samples, as before.
 */

/** Default of WALRUS_MAX_CLOCK_SKEW_SEC: hosts' clocks differ by far less; a jump is far more. */
export const DEFAULT_MAX_CLOCK_SKEW_SEC = 300;

/**
 * Why a sample's time cannot be taken (it lies more than `maxSkewMs` after
 * `nowMs`, the decider's clock), or null when it can. The text starts with
 * "clock ahead:" (the dead-letter metric's reason label).
 */
export function sampleAhead(sample: Pick<Sample, 'collected_at'>, nowMs: number, maxSkewMs: number): string | null {
  const aheadMs = toMs(sample.collected_at) - nowMs;
  if (aheadMs <= maxSkewMs) return null;
  return (
    `clock ahead: collected_at ${sample.collected_at} is ${Math.round(aheadMs / 1000)} s ahead of the decider's clock ` +
    `(at most ${Math.round(maxSkewMs / 1000)} s, WALRUS_MAX_CLOCK_SKEW_SEC); evaluated, it would have every later sample of the cluster ignored until then`
  );
}

export interface ClockFacts {
  /** When JetStream stored the sample (the NATS server's clock), epoch ms. */
  storedAtMs: number;
  /** The decider's clock. */
  nowMs: number;
  maxSkewMs: number;
}

export interface ClockJump {
  /** The state to evaluate the sample on: without a baseline, so the sample becomes the new one. */
  state: ClusterState;
  reason: string;
}

/**
 * Whether `sample`, which comes after the last evaluated one in stream order,
 * is dated before it because a clock went back. Null when rule 1 should
 * judge it as usual: it is newer, or as old to the millisecond (a
 * redelivery), or the clocks do not tell a jump (a reordering), or its WAL
 * position is behind the last one's (it was read before it: re-baselining on
 * it would count checkpoints twice).
 */
export function clockWentBack(state: ClusterState, sample: Sample, facts: ClockFacts): ClockJump | null {
  if (state.lastSampleAt === null) return null;
  const atMs = toMs(sample.collected_at);
  const lastMs = toMs(state.lastSampleAt);
  if (atMs >= lastMs) return null;
  if (state.prevWalBytes !== null && sample.wal_bytes < state.prevWalBytes) return null;

  let evidence: string | null = null;
  if (lastMs - facts.nowMs > facts.maxSkewMs) {
    // The last sample evaluated lies in the future (taken before deciders refused such samples).
    evidence = `the last sample evaluated (${state.lastSampleAt}) lies ${Math.round((lastMs - facts.nowMs) / 1000)} s ahead of the decider's clock`;
  } else if (state.lastSampleStoredAt !== undefined) {
    const storedGapMs = facts.storedAtMs - toMs(state.lastSampleStoredAt);
    const stampedGapMs = atMs - lastMs;
    if (storedGapMs - stampedGapMs > facts.maxSkewMs) {
      evidence =
        `it was stored ${Math.round(storedGapMs / 1000)} s after the last sample evaluated (NATS server's clock) ` +
        `but is dated ${Math.round(-stampedGapMs / 1000)} s before it`;
    }
  }
  if (evidence === null) return null;
  return {
    state: rebaselined(state, atMs),
    reason: `clock went back: sample collected at ${sample.collected_at}, before the last one evaluated (${state.lastSampleAt}); ${evidence}; new baseline instead of ignoring the cluster's samples until that clock catches up`,
  };
}

/**
 * The state without a baseline (rule 2 takes the sample as the new one, as
 * after a statistics reset), and with no instant later than the sample's:
 * a cooldown or an hour window that started "later" on the old clock starts
 * at the sample instead, so the rate limits hold from now on the new clock
 * rather than for as long as the jump. (lastSampleStoredAt is left: the
 * decider sets it to the sample's own once it is evaluated.)
 */
function rebaselined(state: ClusterState, atMs: number): ClusterState {
  const notAfter = (iso: string | null): string | null => (iso !== null && toMs(iso) > atMs ? toIso(atMs) : iso);
  // Each member's last sample time is on the old clock too: its rule 1 would
  // ignore the member until the clock caught up. Its facts are read again.
  const { members: _onTheOldClock, ...rest } = state;
  return {
    ...rest,
    prevRequested: null,
    lastSampleAt: null,
    prevWalBytes: null,
    lastAdjustmentAt: notAfter(state.lastAdjustmentAt),
    hourWindowStart: notAfter(state.hourWindowStart),
  };
}

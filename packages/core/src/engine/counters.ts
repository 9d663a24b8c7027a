import type { Policy } from '../config/policy.js';
import { type DecisionAction, MAX_WAL_SIZE_LIMIT_MB } from '../schemas.js';
import { getAlgorithm } from './algorithms/registry.js';
import { proactiveGrowth } from './algorithms/proactive.js';
import type { GrowInput, GrowProposal, PreviousSample, WalView } from './algorithms/types.js';
import { boundByDone, classifyCheckpoints } from './checkpoint-causes.js';
import { decisionFrom } from './decision.js';
import { withSlotBound } from './disk/bound-decision.js';
import { describeLimit, diskMemory, diskShrink, limitMetadata, walDiskLimit, type WalDiskLimit } from './disk/limit.js';
import type { EvaluateInput, EvaluateResult, Insight, StepOutcomeKind, WantedChange } from './evaluation.js';
import { checkRateLimit, recordChange } from './rate-limit.js';
import { shrinkTarget } from './shrink.js';
import type { ClusterState } from './state/current.js';
import { applyProfiles } from './profiles.js';
import { sizingStatus } from './sizing-status.js';
import { activeHold, expectEffect, growthCause, trackEffects } from './effect.js';
import { describeRecurring, expectedNeed, RECURRING_HEADROOM, learnRecurring, measuredNeedMb, recurringLeadSec, recurringMetadata, type RecurringNeed } from './recurring.js';
import { toIso, toMs } from './time.js';
import { recentRequested, requiredSizeMb, trackWal, type WalRateState } from './wal-rate.js';

/** A change the rules propose, before rate limits and dry run have their say. */
interface ProposedChange {
  action: WantedChange['action'];
  targetMb: number;
  reason: string;
  metadata: Record<string, unknown>;
  /** A shrink for the WAL disk budget: not held back by the cooldown or the hourly window (docs/DISK-SAFETY.md). */
  urgent?: boolean;
}

/**
 * ARCHITECTURE §4, one sample at a time, for a sample whose counters are the
 * cluster's baseline (evaluate.ts sends samples that name their member
 * through members.ts first).
 * Pure: the same state and sample give the same result (decided_at aside),
 * which is what makes redelivery and replay safe.
 */
export function evaluateCounters(rawInput: EvaluateInput): EvaluateResult {
  // A time profile open at the sample's time overrides a few parameters for everything below.
  const profiled = applyProfiles(rawInput.policy, rawInput.sample.collected_at);
  const input: EvaluateInput = { ...rawInput, policy: profiled.policy };
  const { state, sample, policy } = input;
  const atMs = toMs(sample.collected_at);

  // 1. Redelivered or reordered samples must not count checkpoints twice.
  if (state.lastSampleAt !== null && atMs <= toMs(state.lastSampleAt)) {
    return {
      state,
      decision: null,
      outcome: {
        kind: 'ignored_old_sample',
        reason: `sample collected at ${sample.collected_at} is not newer than the last evaluated one (${state.lastSampleAt})`,
      },
    };
  }

  const requested = sample.checkpoints_requested;
  const previous: PreviousSample | null =
    state.lastSampleAt !== null && state.prevWalBytes !== null
      ? { collectedAt: state.lastSampleAt, walBytes: state.prevWalBytes }
      : null;
  const prevWal = state.walRate ?? undefined;
  const requestedDelta = state.prevRequested !== null && requested >= state.prevRequested ? requested - state.prevRequested : 0;
  // 18: num_done bounds what can have been performed (checkpoint-causes.ts boundByDone).
  const done = sample.checkpoints_done;
  const doneDelta = done !== undefined && state.prevDone !== undefined && done >= state.prevDone ? done - state.prevDone : null;
  const causes = boundByDone(
    classifyCheckpoints(
      requestedDelta,
      prevWal ? { redoBytes: prevWal.redoBytes, sizeMb: prevWal.sizeMb, pending: prevWal.pendingRequested ?? 0 } : null,
      sample,
    ),
    doneDelta,
  );
  const walRate: WalRateState = {
    ...trackWal(
      prevWal,
      previous && { at: previous.collectedAt, walBytes: previous.walBytes },
      sample,
      policy.emaAlpha,
      causes.walCaused,
      causes.other,
      requestedDelta,
    ),
    pendingRequested: causes.pending,
  };
  const lastWhole = walRate.intervals.at(-1) ?? null;
  const insight: Insight = {
    profile: profiled.profile,
    walRateBytesPerSec: lastWhole,
    walRateEmaBytesPerSec: walRate.ema,
    lastIntervalRateBytesPerSec: walRate.lastRate,
    requiredSizeMb: lastWhole === null ? null : requiredSizeMb(lastWhole, sample),
  };
  const algorithm = getAlgorithm(policy.algorithm);
  const formulaBased = algorithm.proposeShrink !== undefined;
  const proactive = policy.proactiveSizing === 'on' || (policy.proactiveSizing === 'auto' && formulaBased);
  // The recurring memory goes with proactive sizing: it is a forecast, which pg_walrus's own rule never makes.
  const recurring = proactive ? learnRecurring(state.recurring, sample, measuredNeedMb(walRate, sample), policy.recurringPeriodSec) : undefined;
  // Every sample that gets this far moves the baseline on, whatever follows.
  const seen: ClusterState = {
    ...state,
    prevRequested: requested,
    lastSampleAt: toIso(atMs),
    prevWalBytes: sample.wal_bytes,
    walRate,
    activeProfile: profiled.profile,
    disk: diskMemory(sample, state.disk),
    ...(done !== undefined ? { prevDone: done } : {}),
  };
  if (recurring === undefined) delete seen.recurring;
  else seen.recurring = recurring;
  // What earlier changes did (effect.ts): judged on the counters, whatever this sample decides.
  const effect = trackEffects(state.effect, sample, causes, policy);
  seen.effect = effect.memory;
  const effects = effect.effects;
  const nothing = (kind: StepOutcomeKind, reason: string): EvaluateResult => ({
    state: seen,
    decision: null,
    outcome: { kind, reason },
    insight,
    effects,
  });

  // 2. Without a previous count there is no interval to judge.
  if (state.prevRequested === null) {
    return nothing('baseline', `baseline of ${requested} requested checkpoints; nothing to compare yet`);
  }

  // 3. Counters only go backwards after a statistics reset or a crash; the
  //    interval is unknown, so start over rather than guess.
  const delta = requested - state.prevRequested;
  if (delta < 0) {
    return nothing(
      'rebaseline',
      `requested checkpoints went back from ${state.prevRequested} to ${requested} (statistics reset or crash); new baseline`,
    );
  }

  // 4. The baseline above has already moved on, so re-enabling (or a
  //    promotion) never acts on checkpoints counted meanwhile.
  if (sample.in_recovery) {
    return nothing('standby', `standby (in recovery): max_wal_size is not managed; ${delta} forced checkpoints not acted on`);
  }
  if (!policy.enable) {
    return nothing('disabled', `walrus.enable is off; ${delta} forced checkpoints not acted on`);
  }

  const wal: WalView = {
    rate: walRate,
    causes,
    recentForced: recentForced(walRate, state.lastAdjustmentAt, sample.max_wal_size_mb),
    recentRequested: recentRequested(walRate, sample, state.lastAdjustmentAt === null ? -Infinity : toMs(state.lastAdjustmentAt)),
    proactive,
  };
  const growInput: GrowInput = {
    currentMb: sample.max_wal_size_mb,
    delta,
    threshold: policy.threshold,
    sample,
    previous,
    policy,
    state: state.algo[algorithm.name],
    wal,
  };
  const own = algorithm.proposeGrowth(growInput);
  // Proactive growth for algorithms that only react to forced checkpoints.
  const reactive =
    own.proposal === null && wal.proactive && !formulaBased ? { ...own, proposal: proactiveGrowth(growInput) } : own;
  // A load that came back at this time in earlier periods: be at its size before it. Time profiles win: none while one is open.
  const expected =
    profiled.profile === null ? expectedNeed(recurring, sample, recurringLeadSec(sample, policy.recurringPeriodSec)) : null;
  const grown = withRecurring(reactive, expected, sample.max_wal_size_mb);
  const algo = { ...seen.algo };
  if (grown.state === undefined) delete algo[algorithm.name];
  else algo[algorithm.name] = grown.state;

  // 5. / 6. A busy interval ends any run of quiet ones; a quiet one extends it.
  const next: ClusterState = {
    ...seen,
    algo,
    quietIntervals: grown.proposal ? 0 : state.quietIntervals + 1,
  };
  const formulaShrink = algorithm.proposeShrink && (() => algorithm.proposeShrink?.(growInput) ?? null);
  // The WAL disk budget bounds every algorithm; past it, shrinking comes first.
  const disk = walDiskLimit(sample, policy, state.disk);
  const wanted =
    disk && sample.max_wal_size_mb > disk.limitMb
      ? { action: 'decrease' as const, urgent: true, ...diskShrink(disk, sample.max_wal_size_mb, policy.minSizeMb) }
      : grown.proposal
        ? growChange(grown.proposal, sample.max_wal_size_mb, policy, disk)
        : holdForRecurring(shrinkChange(next.quietIntervals, delta, sample.max_wal_size_mb, policy, formulaShrink), expected, sample.max_wal_size_mb);
  // walrus.bound_slots keeps max_slot_wal_keep_size in step with whatever the rules decided (disk/bound-decision.ts).
  // The higher of the sliding rate (about a checkpoint_timeout) and the last interval's: a load that just
  // began is not underestimated, so a slot is warned early enough and promised enough for its grace.
  const rates = [walRate.recentRate, walRate.lastRate].filter((r): r is number => r !== null && r !== undefined);
  const freshRate = rates.length > 0 ? Math.max(...rates) : walRate.ema;
  if ('none' in wanted) {
    // Requested checkpoints that WAL did not cause are worth a word when they explain a non-growth.
    const causes = formulaBased && wal.causes.other > 0 ? `; ${wal.causes.reason}` : '';
    return withSlotBound(input, { state: next, decision: null, outcome: { kind: 'no_change', reason: wanted.none + causes }, insight, effects }, freshRate);
  }
  const change = profiled.profile === null ? wanted : { ...wanted, metadata: { ...wanted.metadata, profile: profiled.profile } };
  const emitted = emit(input, next, change, delta, atMs);
  const d = emitted.decision;
  // An executed change starts its effect check (a dry run changes nothing to check).
  const checked = d && next.effect ? { ...emitted.state, effect: expectEffect(next.effect, d, sample, policy) } : emitted.state;
  return withSlotBound(input, { ...emitted, state: checked, insight, effects }, freshRate);
}

/**
 * A recurring need above both the current size and what the algorithm
 * proposes replaces the proposal (the decision is named "recurring: ...");
 * the algorithm's own state is kept as it returned it.
 */
function withRecurring(grown: { proposal: GrowProposal | null; state: unknown }, expected: RecurringNeed | null, currentMb: number): { proposal: GrowProposal | null; state: unknown } {
  if (expected === null || expected.sizeMb <= currentMb || expected.sizeMb <= (grown.proposal?.calculatedMb ?? 0)) return grown;
  const reason = `${describeRecurring(expected)}; growing to ${expected.sizeMb} MB (x ${RECURRING_HEADROOM} headroom) before it comes`;
  return {
    ...grown,
    proposal: {
      calculatedMb: expected.sizeMb,
      reason,
      metadata: { ...(grown.proposal?.metadata ?? {}), ...recurringMetadata(expected), calculated_size_mb: expected.sizeMb },
    },
  };
}

/** No shrink below what a load that came back at this time needs, while it is near or running. */
function holdForRecurring(wanted: ProposedChange | { none: string }, expected: RecurringNeed | null, currentMb: number): ProposedChange | { none: string } {
  if ('none' in wanted || expected === null || expected.sizeMb <= wanted.targetMb) return wanted;
  if (expected.sizeMb >= currentMb) return { none: `${wanted.reason}; held: ${describeRecurring(expected)}, ${expected.sizeMb} MB with headroom` };
  return {
    ...wanted,
    targetMb: expected.sizeMb,
    reason: `${wanted.reason}; raised to ${expected.sizeMb} MB: ${describeRecurring(expected)}`,
    metadata: { ...wanted.metadata, ...recurringMetadata(expected), calculated_size_mb: expected.sizeMb },
  };
}

/**
 * WAL-caused checkpoints over the last checkpoint_timeout (the tracker keeps
 * that long), counting only those at the current size or larger and since
 * the last change: checkpoints forced at the size walrus has just grown from
 * say nothing about the new one.
 */
function recentForced(wal: WalRateState, lastAdjustmentAt: string | null, sizeMb: number): number {
  const since = lastAdjustmentAt === null ? -Infinity : toMs(lastAdjustmentAt);
  return (wal.forced ?? []).reduce((n, [t, count, atSizeMb]) => (t > since && atSizeMb >= sizeMb ? n + count : n), 0);
}

function growChange(proposal: GrowProposal, currentMb: number, policy: Policy, disk: WalDiskLimit | null): ProposedChange | { none: string } {
  const calculatedMb = Math.min(Math.ceil(proposal.calculatedMb), MAX_WAL_SIZE_LIMIT_MB);
  // The lower of walrus.max and the WAL disk limit caps; walrus.max is named when they are equal.
  const diskCapped = disk !== null && disk.growLimitMb < policy.maxMb && calculatedMb > disk.growLimitMb ? disk : null;
  const capped = diskCapped === null && calculatedMb > policy.maxMb;
  const targetMb = diskCapped ? diskCapped.growLimitMb : capped ? policy.maxMb : calculatedMb;
  if (currentMb >= targetMb) {
    return {
      none:
        `${proposal.reason}; max_wal_size is already ${currentMb} MB, at or above the target ${targetMb} MB` +
        (diskCapped ? ` (${describeLimit(diskCapped, policy.minSizeMb)})` : capped ? ' (walrus.max)' : ''),
    };
  }
  return {
    action: capped || diskCapped ? 'capped' : 'increase',
    targetMb,
    reason: diskCapped
      ? `${proposal.reason}, capped at ${targetMb} MB by the WAL disk budget: ${describeLimit(diskCapped, policy.minSizeMb)}`
      : capped
        ? `${proposal.reason}, capped at walrus.max ${policy.maxMb} MB`
        : proposal.reason,
    metadata: {
      ...proposal.metadata,
      calculated_size_mb: calculatedMb,
      ...(capped ? { walrus_max_mb: policy.maxMb } : {}),
      ...(diskCapped ? limitMetadata(diskCapped) : {}),
    },
  };
}

function shrinkChange(
  quietIntervals: number,
  delta: number,
  currentMb: number,
  policy: Policy,
  formula?: () => GrowProposal | null,
): ProposedChange | { none: string } {
  const quietText = `quiet interval ${quietIntervals} (${delta} forced checkpoints, threshold ${policy.threshold})`;
  if (!policy.shrinkEnable) return { none: `${quietText}; walrus.shrink_enable is off` };
  if (quietIntervals < policy.shrinkIntervals) {
    return { none: `${quietText}; a shrink needs ${policy.shrinkIntervals}` };
  }
  if (currentMb <= policy.minSizeMb) {
    return { none: `${quietText}; max_wal_size ${currentMb} MB is already at or below walrus.min_size ${policy.minSizeMb} MB` };
  }
  if (formula) return formulaShrinkChange(quietText, quietIntervals, formula(), currentMb, policy);
  const { calculatedMb, targetMb } = shrinkTarget(currentMb, policy.shrinkFactor, policy.minSizeMb);
  if (targetMb >= currentMb) {
    return { none: `${quietText}; ${currentMb} MB x ${policy.shrinkFactor} rounds up to ${calculatedMb} MB, no smaller` };
  }
  const floored = targetMb > calculatedMb;
  return {
    action: 'decrease',
    targetMb,
    reason:
      `${quietIntervals} quiet intervals (a shrink needs ${policy.shrinkIntervals}): ${currentMb} MB x ${policy.shrinkFactor} = ${calculatedMb} MB` +
      (floored ? `, raised to walrus.min_size ${policy.minSizeMb} MB` : ''),
    metadata: {
      delta,
      threshold: policy.threshold,
      quiet_intervals: quietIntervals,
      shrink_intervals: policy.shrinkIntervals,
      shrink_factor: policy.shrinkFactor,
      calculated_size_mb: calculatedMb,
      min_size_mb: policy.minSizeMb,
    },
  };
}

/** adaptive / percentile shrink towards their formula size instead of by walrus.shrink_factor; the floor still holds. */
function formulaShrinkChange(
  quietText: string,
  quietIntervals: number,
  proposal: GrowProposal | null,
  currentMb: number,
  policy: Policy,
): ProposedChange | { none: string } {
  if (proposal === null) {
    return { none: `${quietText}; ${currentMb} MB is within the band the WAL rate needs (or no whole interval without forced checkpoints was measured yet, or the last growth is less than a checkpoint_timeout ago)` };
  }
  const calculatedMb = Math.ceil(proposal.calculatedMb);
  const targetMb = Math.max(calculatedMb, policy.minSizeMb);
  if (targetMb >= currentMb) return { none: `${quietText}; ${proposal.reason}, but walrus.min_size is ${policy.minSizeMb} MB` };
  return {
    action: 'decrease',
    targetMb,
    reason: proposal.reason + (targetMb > calculatedMb ? `, raised to walrus.min_size ${policy.minSizeMb} MB` : ''),
    metadata: {
      ...proposal.metadata,
      quiet_intervals: quietIntervals,
      shrink_intervals: policy.shrinkIntervals,
      min_size_mb: policy.minSizeMb,
    },
  };
}

const VERB: Record<ProposedChange['action'], string> = {
  increase: 'increase',
  capped: 'capped increase',
  decrease: 'decrease',
};

/** 7. rate limits, 8. dry run, 9. a change to carry out. */
function emit(input: EvaluateInput, next: ClusterState, change: ProposedChange, delta: number, atMs: number): EvaluateResult {
  const { policy } = input;
  const result = (state: ClusterState, action: DecisionAction, reason: string, metadata: Record<string, unknown>, blocked: WantedChange['blocked'] = null): EvaluateResult => {
    // Every decision carries what the engine measured (the WAL rate, the size it
    // needs, the profile in force) as of its state: the history database's
    // walrus.status view shows it from the decisions it stores.
    const typed = { sizingStatus: sizingStatus(state, input.sample) };
    const decision = decisionFrom(input, { action, newSizeMb: change.targetMb, forced: delta, reason, metadata, typed });
    return {
      state,
      decision,
      outcome: { kind: 'decision', reason },
      change: { action: change.action, targetMb: change.targetMb, blocked, dryRun: policy.dryRun },
    };
  };
  const extra = input.bypassRateLimits ? { rate_limits_bypassed: true } : {};

  // A growth for a cause whose last growth did not reduce forced checkpoints is held back, not repeated (effect.ts).
  const hold = input.bypassRateLimits || change.action === 'decrease' ? null : activeHold(next.effect, growthCause(change.metadata), atMs, change.targetMb);
  if (hold) {
    return result(
      next,
      'skipped',
      `${VERB[change.action]} to ${change.targetMb} MB held back: the last growth for ${hold.cause} (decision ${hold.decisionId}) did not reduce forced checkpoints (${hold.flag}); held until ${hold.until} or a ${policy.effectIntervals} x checkpoint_timeout span without requested checkpoints`,
      {
        ...change.metadata,
        would_apply: change.action,
        blocked_by: 'no_effect',
        blocked_until: hold.until,
        held_by_decision: hold.decisionId,
        no_effect_flag: hold.flag,
      },
      { by: 'no_effect', until: hold.until },
    );
  }
  const block = input.bypassRateLimits ? null : checkRateLimit(next, policy, atMs, { urgent: change.urgent === true });
  if (block) {
    // Not a change: the state stays as the rules left it (a skipped shrink
    // keeps its quiet intervals and is tried again next interval).
    return result(
      next,
      'skipped',
      `${VERB[change.action]} to ${change.targetMb} MB blocked: ${block.reason}`,
      {
        ...change.metadata,
        ...block.metadata,
        would_apply: change.action,
        blocked_by: block.blockedBy,
        blocked_until: block.until,
        ...(policy.dryRun ? { dry_run: true } : {}),
      },
      { by: block.blockedBy, until: block.until },
    );
  }

  // A dry-run change counts like a real one, so the decisions recorded in dry
  // run are the ones that would really have been made.
  const counted = recordChange(next, atMs);
  const afterShrink = change.action === 'decrease' ? { quietIntervals: 0 } : {};

  if (policy.dryRun) {
    return result({ ...counted, ...afterShrink }, 'dry_run', `dry run, would ${VERB[change.action]} to ${change.targetMb} MB: ${change.reason}`, {
      ...change.metadata,
      ...extra,
      would_apply: change.action,
      dry_run: true,
    });
  }

  return result({ ...counted, ...afterShrink, totalAdjustments: counted.totalAdjustments + 1 }, change.action, change.reason, { ...change.metadata, ...extra });
}

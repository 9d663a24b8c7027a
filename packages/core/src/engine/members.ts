import type { Decision, Sample } from '../schemas.js';
import { evaluateCounters } from './counters.js';
import { decisionFrom, withTypedFields } from './decision.js';
import { describeLimit, limitMetadata, walDiskLimit } from './disk/limit.js';
import type { EvaluateInput, EvaluateResult, WantedChange } from './evaluation.js';
import { recordChange } from './rate-limit.js';
import type { ClusterState } from './state/current.js';
import type { MemberFacts } from './state/parts.js';
import { toIso, toMs } from './time.js';

/*
 * The member rules: a cluster is a set of members (a primary and its
 * standbys), each sampled on its own, their samples interleaved on the
 * cluster's subject. Pure, like the rest of the engine; the time is the
 * sample's collected_at.
 *
 * - Rule 1 holds per member: a member's sample not newer than that member's
 *   last is ignored (another member's later sample does not hide it).
 * - Decisions come from the primary's counters only (evaluateCounters, the
 *   ARCHITECTURE §4 rules); a standby's counters are its own and never mix
 *   with them.
 * - A change of primary (another member out of recovery on a newer
 *   timeline, or the primary's own timeline moving) is a failover: the
 *   counters are re-baselined on the new primary; the learned size is kept
 *   and, when the new primary runs below it, restored at once (an
 *   `increase` that bypasses the rate limits, as a manual analyze does, but
 *   counts as a change).
 * - A member out of recovery on an older timeline than the primary's is a
 *   stale old primary (a split brain of the moment): ignored.
 * - A standby whose size differs from the cluster's is brought to it by a
 *   decision that names it (`target_member`), which the applier carries
 *   out on that member alone; not rate limited, not counted.
 * - Every decision of a cluster whose samples name members says which
 *   member was the primary (`primary_member`).
 */

/** Member facts older than this (on the samples' clock) are forgotten: the member left the cluster. */
export const MEMBER_FORGET_MS = 24 * 3600 * 1000;

/** How a sample out of recovery relates to the primary the state knows. */
type PrimaryChange = 'same' | 'first' | 'failover' | 'timeline' | 'stale';

export function evaluateMembers(input: EvaluateInput, member: string): EvaluateResult {
  const { state, sample } = input;
  const atMs = toMs(sample.collected_at);
  const known = state.members?.[member];

  // 1. per member.
  if (known && atMs <= toMs(known.lastSampleAt)) {
    return {
      state,
      decision: null,
      outcome: {
        kind: 'ignored_old_sample',
        reason: `sample of member ${member} collected at ${sample.collected_at} is not newer than its last evaluated one (${known.lastSampleAt})`,
      },
    };
  }
  const timeline = sample.timeline ?? null;
  const facts = (role: MemberFacts['role'], sync = known?.sync): MemberFacts => ({
    role,
    maxWalSizeMb: sample.max_wal_size_mb,
    timeline,
    lastSampleAt: toIso(atMs),
    ...(sync ? { sync } : {}),
  });
  const withMember = (s: ClusterState, f: MemberFacts): ClusterState => ({ ...s, members: { ...remembered(s.members, atMs), [member]: f } });

  if (sample.in_recovery) return standby(input, member, withMember, facts);

  const primary = state.primary;
  const change = classify(primary, member, timeline);
  if (change === 'stale') {
    return {
      state: withMember(state, facts('stale_primary')),
      decision: null,
      outcome: {
        kind: 'split_brain',
        reason:
          `member ${member} reports itself primary on timeline ${timeline ?? '?'}, but ${primary?.member} is the primary on timeline ` +
          `${primary?.timeline ?? '?'}: a stale old primary, ignored`,
      },
    };
  }
  const asPrimary = withMember(state, facts('primary', undefined));
  if (change === 'same' || (change === 'first' && (state.counterMember === undefined || state.counterMember === member))) {
    // The primary's counters: the ARCHITECTURE §4 rules.
    const before: ClusterState = {
      ...asPrimary,
      counterMember: member,
      primary: change !== 'first' && primary ? { ...primary, timeline: timeline ?? primary.timeline, demoted: false } : { member, timeline, since: toIso(atMs), demoted: false },
    };
    const r = evaluateCounters({ ...input, state: before });
    if (r.outcome.kind === 'ignored_old_sample') return r;
    return {
      ...r,
      state: { ...r.state, learned: learnedAfter(r.state.learned, sample, r.decision, atMs) },
      // A decision from the primary's counters names the primary.
      decision: r.decision && withTypedFields(r.decision, { primaryMember: member }),
    };
  }
  if (change === 'first') {
    // A lone standby's counters were the baseline until now.
    return {
      state: rebaselined(asPrimary, member, timeline, sample, atMs, state.failovers ?? 0),
      decision: null,
      outcome: { kind: 'baseline', reason: `member ${member} is the primary: baseline of ${sample.checkpoints_requested} requested checkpoints` },
    };
  }
  return failover(input, member, change, asPrimary);
}

function classify(primary: ClusterState['primary'], member: string, timeline: number | null): PrimaryChange {
  if (!primary) return 'first';
  if (primary.member === member) {
    return timeline !== null && primary.timeline !== null && timeline !== primary.timeline ? 'timeline' : 'same';
  }
  if (primary.demoted) return 'failover';
  // A promotion always starts a new timeline: the newer one is the primary.
  if (timeline !== null && primary.timeline !== null) return timeline > primary.timeline ? 'failover' : 'stale';
  return 'failover';
}

function remembered(members: ClusterState['members'], atMs: number): Record<string, MemberFacts> {
  const out: Record<string, MemberFacts> = {};
  for (const [name, f] of Object.entries(members ?? {})) if (atMs - toMs(f.lastSampleAt) <= MEMBER_FORGET_MS) out[name] = f;
  return out;
}

function standby(
  input: EvaluateInput,
  member: string,
  withMember: (s: ClusterState, f: MemberFacts) => ClusterState,
  facts: (role: MemberFacts['role'], sync?: MemberFacts['sync']) => MemberFacts,
): EvaluateResult {
  const { state, sample } = input;
  const primary = state.primary && state.primary.member === member ? { ...state.primary, demoted: true } : state.primary;
  const seen: ClusterState = { ...withMember(state, facts('standby')), ...(primary ? { primary } : {}) };
  if (state.counterMember === undefined || state.counterMember === member) {
    // The only member seen so far (or the primary, just demoted): its counters
    // are the baseline, and the rules say "standby" (rule 4), as for a
    // single-host cluster.
    const r = evaluateCounters({ ...input, state: { ...seen, counterMember: member } });
    return r.outcome.kind === 'ignored_old_sample' ? { ...r, state: seen } : r;
  }
  const sync = memberSync(input, member);
  if (sync === null) {
    return {
      state: seen,
      decision: null,
      outcome: { kind: 'standby', reason: `member ${member} is a standby (max_wal_size ${sample.max_wal_size_mb} MB); decisions come from ${state.primary?.member ?? 'the primary'}` },
    };
  }
  const atMs = toMs(sample.collected_at);
  return {
    state: withMember(seen, facts('standby', { targetMb: sync.decision.new_size_mb, fromMb: sample.max_wal_size_mb, at: toIso(atMs) })),
    decision: sync.decision,
    outcome: { kind: 'decision', reason: sync.decision.reason },
    change: sync.change,
  };
}

/** A decision bringing a standby to the cluster's size, or null when none is due. */
function memberSync(input: EvaluateInput, member: string): { decision: Decision; change: WantedChange } | null {
  const { state, sample, policy } = input;
  const learned = state.learned;
  if (!learned || !policy.enable) return null;
  const atMs = toMs(sample.collected_at);
  const current = sample.max_wal_size_mb;
  // The standby's own WAL disk budget (its slots) bounds what it gets.
  const disk = walDiskLimit(sample, policy);
  const target = disk !== null ? Math.min(learned.sizeMb, disk.growLimitMb) : learned.sizeMb;
  if (current === target) return null;
  // The applier may still be on its way to this member with the cluster's last decision.
  if (pending(learned, atMs) && current === learned.pendingFromMb) return null;
  const last = state.members?.[member]?.sync;
  const expiryMs = 2 * sample.checkpoint_timeout_s * 1000;
  if (last && last.targetMb === target && last.fromMb === current && atMs < toMs(last.at) + expiryMs) return null;
  const action: WantedChange['action'] = current < target ? 'increase' : 'decrease';
  const reason =
    `member ${member} (standby) runs max_wal_size ${current} MB, the cluster's size is ${learned.sizeMb} MB ` +
    `(primary ${state.primary?.member ?? 'unknown'}): brought to ${target < learned.sizeMb && disk ? `${target} MB, its WAL disk budget's limit (${describeLimit(disk, policy.minSizeMb)})` : 'it'}`;
  const decision = decisionFrom(input, {
    action: policy.dryRun ? 'dry_run' : action,
    newSizeMb: target,
    forced: 0,
    reason: policy.dryRun ? `dry run, would ${action}: ${reason}` : reason,
    metadata: {
      member_sync: true,
      cluster_size_mb: learned.sizeMb,
      ...(disk !== null && target < learned.sizeMb ? limitMetadata(disk) : {}),
      ...(policy.dryRun ? { would_apply: action, dry_run: true } : {}),
    },
    aboutMember: member,
    typed: { targetMember: member, primaryMember: state.primary?.member ?? null },
  });
  return {
    decision,
    change: { action, targetMb: target, blocked: null, dryRun: policy.dryRun },
  };
}

function failover(input: EvaluateInput, member: string, change: 'failover' | 'timeline', asPrimary: ClusterState): EvaluateResult {
  const { state, sample, policy } = input;
  const atMs = toMs(sample.collected_at);
  const timeline = sample.timeline ?? null;
  const before = state.primary;
  const failovers = (state.failovers ?? 0) + 1;
  const rebased = formerPrimary(rebaselined(asPrimary, member, timeline, sample, atMs, failovers), before?.member, member);
  const what =
    change === 'timeline'
      ? `the primary ${member} moved from timeline ${before?.timeline ?? '?'} to ${timeline ?? '?'} (restarted or promoted again)`
      : `failover: ${member} is the primary now (was ${before?.member ?? 'unknown'}; timeline ${before?.timeline ?? '?'} -> ${timeline ?? '?'})`;
  const learned = state.learned;
  const current = sample.max_wal_size_mb;
  // Not above walrus.max, nor above what the new primary's WAL disk budget leaves (its own slots).
  const disk = walDiskLimit(sample, policy);
  const diskCapped = disk !== null && learned !== undefined && disk.growLimitMb < Math.min(learned.sizeMb, policy.maxMb) ? disk : null;
  const target = learned ? Math.min(learned.sizeMb, policy.maxMb, diskCapped?.growLimitMb ?? Infinity) : null;
  if (!learned || target === null || !policy.enable || current >= target) {
    const why = !learned
      ? 'no size learned yet'
      : !policy.enable
        ? 'walrus.enable is off'
        : `it runs max_wal_size ${current} MB, at or above the cluster's ${learned.sizeMb} MB`;
    return {
      state: { ...rebased, learned: observed(sample, atMs) },
      decision: null,
      outcome: { kind: 'failover', reason: `${what}; counters re-baselined; ${why}` },
    };
  }
  const capped = target < learned.sizeMb;
  const restore = capped ? 'capped' : 'increase';
  const reason =
    `${what}; it runs max_wal_size ${current} MB, below the ${learned.sizeMb} MB walrus had put in force: restored at once` +
    (diskCapped ? `, capped at ${target} MB by the WAL disk budget: ${describeLimit(diskCapped, policy.minSizeMb)}` : capped ? `, capped at walrus.max ${policy.maxMb} MB` : '');
  const metadata: Record<string, unknown> = {
    failover: change === 'failover',
    timeline_change: true,
    previous_primary: before?.member ?? null,
    timeline_from: before?.timeline ?? null,
    timeline_to: timeline,
    learned_size_mb: learned.sizeMb,
    rate_limits_bypassed: true,
    ...(diskCapped ? limitMetadata(diskCapped) : capped ? { walrus_max_mb: policy.maxMb } : {}),
    ...(policy.dryRun ? { would_apply: restore, dry_run: true } : {}),
  };
  const decision = decisionFrom(input, {
    action: policy.dryRun ? 'dry_run' : restore,
    newSizeMb: target,
    forced: 0,
    reason: policy.dryRun ? `dry run, would restore: ${reason}` : reason,
    metadata,
    aboutMember: member,
    typed: { primaryMember: member },
  });
  // Not rate limited, but a change like any other: it starts a cooldown and counts in the hour window.
  const counted = recordChange(rebased, atMs);
  return {
    state: {
      ...counted,
      totalAdjustments: counted.totalAdjustments + (policy.dryRun ? 0 : 1),
      learned: policy.dryRun ? observed(sample, atMs) : pendingLearned(target, current, sample, atMs),
    },
    decision,
    outcome: { kind: 'decision', reason: decision.reason },
    change: { action: restore, targetMb: target, blocked: null, dryRun: policy.dryRun },
  };
}

/** The new primary's counters become the baseline; the WAL rate learned so far is kept (it is the workload's). */
function rebaselined(s: ClusterState, member: string, timeline: number | null, sample: Sample, atMs: number, failovers: number): ClusterState {
  const wal = s.walRate;
  return {
    ...s,
    walRate: wal && {
      ...wal,
      windowAt: toIso(atMs),
      windowWalBytes: sample.wal_bytes,
      windowForced: 0,
      lastRate: null,
      prevLastRate: null,
      redoBytes: sample.checkpoint_redo_bytes ?? null,
      sizeMb: sample.max_wal_size_mb,
    },
    counterMember: member,
    primary: { member, timeline, since: toIso(atMs), demoted: false },
    prevRequested: sample.checkpoints_requested,
    prevWalBytes: sample.wal_bytes,
    lastSampleAt: toIso(atMs),
    failovers,
  };
}

/** The old primary, last seen as primary, is a stale one now (whether it is gone or not demoted yet): its facts say so. */
function formerPrimary(s: ClusterState, former: string | undefined, member: string): ClusterState {
  if (former === undefined || former === member) return s;
  const f = s.members?.[former];
  if (!f || f.role !== 'primary') return s;
  return { ...s, members: { ...s.members, [former]: { ...f, role: 'stale_primary' } } };
}

function pending(learned: NonNullable<ClusterState['learned']>, atMs: number): boolean {
  return learned.pendingUntil !== null && atMs < toMs(learned.pendingUntil);
}

const observed = (sample: Sample, atMs: number): NonNullable<ClusterState['learned']> => ({
  sizeMb: sample.max_wal_size_mb,
  at: toIso(atMs),
  pendingFromMb: null,
  pendingUntil: null,
});

/** A decided size, pending while the applier may still apply it (its default expiry: two checkpoint_timeouts). */
const pendingLearned = (sizeMb: number, fromMb: number, sample: Sample, atMs: number): NonNullable<ClusterState['learned']> => ({
  sizeMb,
  at: toIso(atMs),
  pendingFromMb: fromMb,
  pendingUntil: toIso(atMs + 2 * sample.checkpoint_timeout_s * 1000),
});

/** The cluster's size after a primary sample and what the rules decided from it. */
function learnedAfter(learned: ClusterState['learned'], sample: Sample, decision: Decision | null, atMs: number): NonNullable<ClusterState['learned']> {
  if (decision && (decision.action === 'increase' || decision.action === 'capped' || decision.action === 'decrease')) {
    return pendingLearned(decision.new_size_mb, decision.old_size_mb, sample, atMs);
  }
  // Still the size before the decision: the applier has not got there yet.
  if (learned && pending(learned, atMs) && sample.max_wal_size_mb === learned.pendingFromMb) return learned;
  return observed(sample, atMs);
}

/** Whether `sample`'s counters were the cluster's baseline when it was evaluated (for metrics of forced checkpoints and size). */
export function countsForCluster(stateBefore: ClusterState, sample: Sample): boolean {
  return sample.member === undefined || stateBefore.counterMember === undefined || stateBefore.counterMember === sample.member;
}

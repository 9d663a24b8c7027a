import { z } from 'zod';
import type { Policy } from '../config/policy.js';
import type { Effect, EffectFlag, EffectSpan, EffectVerdict } from '../effect-schemas.js';
import type { Decision, Sample } from '../schemas.js';
import type { CheckpointCauses } from './checkpoint-causes.js';
import { toIso, toMs } from './time.js';

/*
 * Every change checked for its effect (issue 25 item 4). For each executed
 * change the engine keeps what the span before it looked like; once the
 * samples show the new size in force and walrus.effect_intervals
 * checkpoint_timeouts have passed, it compares the span after with the one
 * before (forced checkpoints per hour, WAL rate, checkpoint write and sync
 * time, full-page images per transaction) and publishes the judgement. A
 * growth after which forced checkpoints did not fall is flagged with the
 * reason; when growing again cannot help (they came from elsewhere, or the
 * cap was hit) the next growth for the same cause is held back.
 */

/** A snapshot of the cumulative counters at one sample. */
const Point = z.strictObject({
  t: z.number(),
  req: z.number().min(0),
  /** Requested checkpoints the engine counted as WAL-caused, and the others, cumulated by the engine since the tracker started. */
  wc: z.number().min(0),
  oth: z.number().min(0),
  wal: z.number().min(0),
  w: z.number().min(0).optional(),
  s: z.number().min(0).optional(),
  f: z.number().min(0).optional(),
  x: z.number().min(0).optional(),
});
type Point = z.infer<typeof Point>;

const Span = z.strictObject({ from: Point, to: Point });

const Pending = z.strictObject({
  decisionId: z.uuid(),
  action: z.enum(['increase', 'capped', 'decrease']),
  cause: z.string(),
  fromMb: z.number().int().min(0),
  toMb: z.number().int().min(0),
  decidedAt: z.iso.datetime({ offset: true }),
  before: Span,
  /** The first sample that showed toMb, and its counters. */
  inForce: Point.nullable(),
});
type Pending = z.infer<typeof Pending>;

const Hold = z.strictObject({
  cause: z.string(),
  flag: z.string(),
  decisionId: z.uuid(),
  since: z.iso.datetime({ offset: true }),
  until: z.iso.datetime({ offset: true }),
  /** cap_hit: the size that was the cap; a higher walrus.max (or disk limit) ends the hold. */
  capMb: z.number().int().min(0).optional(),
});
export type EffectHold = z.infer<typeof Hold>;

/** ClusterState.effect. */
export const EffectMemorySchema = z.strictObject({
  /** Snapshots covering the last span (at least a tenth of it apart), oldest first. */
  points: z.array(Point).max(16),
  /** The change being checked (one: a later change replaces one not yet judged). */
  pending: z.array(Pending).max(1),
  hold: Hold.nullable(),
});
export type EffectMemory = z.infer<typeof EffectMemorySchema>;

/** A change the span after which did not relieve forced checkpoints holds the next growth for its cause this long at most. */
export const HOLD_MS = 3600 * 1000;
/** A change never seen in force (stale, failed, rejected) is forgotten after this many spans. */
const IN_FORCE_WAIT_SPANS = 4;
/** The load grew when the WAL rate after is this many times the one before: a further growth is then the answer, not held. */
export const LOAD_GREW = 1.5;

export function effectSpanMs(sample: Sample, policy: Policy): number {
  return policy.effectIntervals * sample.checkpoint_timeout_s * 1000;
}

function pointOf(sample: Sample, causes: CheckpointCauses, prev: Point | undefined): Point {
  return {
    t: toMs(sample.collected_at),
    req: sample.checkpoints_requested,
    wc: (prev?.wc ?? 0) + causes.walCaused,
    oth: (prev?.oth ?? 0) + causes.other,
    wal: sample.wal_bytes,
    ...(sample.checkpoint_write_time_ms !== undefined ? { w: sample.checkpoint_write_time_ms } : {}),
    ...(sample.checkpoint_sync_time_ms !== undefined ? { s: sample.checkpoint_sync_time_ms } : {}),
    ...(sample.wal_fpi !== undefined ? { f: sample.wal_fpi } : {}),
    ...(sample.xact_commit !== undefined ? { x: sample.xact_commit } : {}),
  };
}

const diff = (a: number | undefined, b: number | undefined): number | null => (a === undefined || b === undefined || a < b ? null : a - b);

export function spanOf(from: Point, to: Point): EffectSpan {
  const seconds = Math.max(0, (to.t - from.t) / 1000);
  const perHour = (n: number): number => (seconds > 0 ? Math.round((n / seconds) * 3600 * 10) / 10 : 0);
  const forced = Math.max(0, to.req - from.req);
  const fpi = diff(to.f, from.f);
  const xact = diff(to.x, from.x);
  return {
    seconds,
    forced_checkpoints: forced,
    forced_per_hour: perHour(forced),
    wal_caused_per_hour: perHour(Math.max(0, to.wc - from.wc)),
    other_per_hour: perHour(Math.max(0, to.oth - from.oth)),
    wal_bytes_per_second: seconds > 0 ? Math.round(Math.max(0, to.wal - from.wal) / seconds) : 0,
    checkpoint_write_ms: diff(to.w, from.w),
    checkpoint_sync_ms: diff(to.s, from.s),
    fpi_per_transaction: fpi === null || xact === null || xact === 0 ? null : Math.round((fpi / xact) * 1000) / 1000,
    transactions: xact,
  };
}

export interface EffectStep {
  memory: EffectMemory;
  effects: Effect[];
}

/**
 * One sample's part: snapshot, changes seen in force, spans judged, the
 * hold ended (its time is up, or a whole span passed without a requested
 * checkpoint). A counter that went back (a statistics reset, a crash) makes
 * earlier snapshots meaningless: everything pending is dropped.
 */
export function trackEffects(memory: EffectMemory | undefined, sample: Sample, causes: CheckpointCauses, policy: Policy): EffectStep {
  const atMs = toMs(sample.collected_at);
  const spanMs = effectSpanMs(sample, policy);
  const prevPoints = (memory?.points ?? []).filter((p) => p.t < atMs && p.req <= sample.checkpoints_requested && p.wal <= sample.wal_bytes);
  const reset = memory !== undefined && prevPoints.length < memory.points.length;
  const now = pointOf(sample, causes, reset ? undefined : prevPoints.at(-1));
  const newest = prevPoints.at(-1);
  const kept = newest === undefined || atMs - newest.t >= spanMs / 10 ? [...prevPoints, now] : prevPoints;
  // The newest point at least a span old and everything after it.
  const cut = kept.findLastIndex((p) => atMs - p.t >= spanMs);
  const points = kept.slice(Math.max(0, cut)).slice(-16);

  const effects: Effect[] = [];
  const pending: Pending[] = [];
  for (const p of reset ? [] : (memory?.pending ?? [])) {
    if (p.inForce === null) {
      if (sample.max_wal_size_mb === p.toMb) pending.push({ ...p, inForce: now });
      else if (atMs - toMs(p.decidedAt) < IN_FORCE_WAIT_SPANS * spanMs) pending.push(p);
      continue;
    }
    if (atMs - p.inForce.t < spanMs) {
      pending.push(p);
      continue;
    }
    effects.push(judge(p, p.inForce, now, sample, policy));
  }

  let hold = reset ? null : (memory?.hold ?? null);
  if (hold !== null) {
    const oldest = points[0];
    const quietSpan = oldest !== undefined && atMs - oldest.t >= spanMs && now.req === oldest.req;
    if (atMs >= toMs(hold.until) || quietSpan) hold = null;
  }
  for (const e of effects) {
    if (e.holds_next_growth) {
      hold = {
        cause: e.cause,
        flag: e.flag ?? 'unexplained',
        decisionId: e.decision_id,
        since: e.judged_at,
        until: toIso(atMs + HOLD_MS),
        ...(e.flag === 'cap_hit' ? { capMb: e.to_mb } : {}),
      };
    }
  }
  return { memory: { points, pending, hold }, effects };
}

/** The cause a growth is for, as effects and holds name it. */
export function growthCause(metadata: Record<string, unknown>): string {
  const trigger = metadata['trigger'];
  return typeof trigger === 'string' ? trigger : 'forced_checkpoints';
}

/**
 * A change emitted at this sample starts its check: the span before it is
 * the one that ends here. A later change replaces one not yet judged (the
 * span after would be the later change's too).
 */
export function expectEffect(memory: EffectMemory, decision: Decision, sample: Sample, policy: Policy): EffectMemory {
  if (decision.action !== 'increase' && decision.action !== 'capped' && decision.action !== 'decrease') return memory;
  const atMs = toMs(sample.collected_at);
  const spanMs = effectSpanMs(sample, policy);
  const to = memory.points.at(-1);
  if (to === undefined) return memory;
  const from = memory.points.findLast((p) => atMs - p.t >= spanMs) ?? memory.points[0] ?? to;
  const p: Pending = {
    decisionId: decision.id,
    action: decision.action,
    cause: decision.action === 'decrease' ? 'shrink' : growthCause(decision.metadata),
    fromMb: decision.old_size_mb,
    toMb: decision.new_size_mb,
    decidedAt: decision.sample_at,
    before: { from, to },
    inForce: null,
  };
  return { ...memory, pending: [p] };
}

function judge(p: Pending, from: Point, to: Point, sample: Sample, policy: Policy): Effect {
  const before = spanOf(p.before.from, p.before.to);
  const after = spanOf(from, to);
  const { verdict, flag, reason } = verdictOf(p, before, after, policy);
  // Held where growing again cannot help: checkpoints that WAL did not cause, or a size at its cap. When WAL
  // volume still forces them (the load grew, or the growth fell short), growing further is the remedy, and
  // pg_walrus's rule (multiplicative) does exactly that.
  const holds = flag === 'forced_elsewhere' || flag === 'cap_hit';
  return {
    v: 1,
    cluster: sample.cluster,
    decision_id: p.decisionId,
    action: p.action,
    cause: p.cause,
    from_mb: p.fromMb,
    to_mb: p.toMb,
    decided_at: p.decidedAt,
    in_force_at: toIso(from.t),
    judged_at: sample.collected_at,
    before,
    after,
    verdict,
    flag,
    holds_next_growth: holds,
    reason: holds ? `${reason}; the next growth for ${p.cause} is held back` : reason,
  };
}

function verdictOf(p: Pending, before: EffectSpan, after: EffectSpan, policy: Policy): { verdict: EffectVerdict; flag: EffectFlag | null; reason: string } {
  const b = before.forced_per_hour;
  const a = after.forced_per_hour;
  const rates = `forced checkpoints ${b}/h before, ${a}/h after`;
  if (p.action === 'decrease') {
    return after.forced_checkpoints === 0
      ? { verdict: 'shrink_held', flag: null, reason: `no checkpoint forced after the shrink to ${p.toMb} MB (${rates})` }
      : { verdict: 'shrink_forced', flag: null, reason: `${after.forced_checkpoints} checkpoint(s) forced after the shrink to ${p.toMb} MB (${rates})` };
  }
  if (a < b) return { verdict: 'helped', flag: null, reason: `the growth to ${p.toMb} MB relieved forced checkpoints (${rates})` };
  if (a === 0) return { verdict: 'nothing_to_relieve', flag: null, reason: `no checkpoint forced before or after the growth to ${p.toMb} MB` };
  const flag: EffectFlag =
    after.other_per_hour > after.wal_caused_per_hour
      ? 'forced_elsewhere'
      : p.action === 'capped' || p.toMb >= policy.maxMb
        ? 'cap_hit'
        : before.wal_bytes_per_second > 0 && after.wal_bytes_per_second >= LOAD_GREW * before.wal_bytes_per_second
          ? 'load_grew'
          : 'unexplained';
  const why: Record<EffectFlag, string> = {
    forced_elsewhere: `most of them were not caused by WAL volume (${after.other_per_hour}/h from elsewhere: CHECKPOINT commands, base backups), which no size relieves`,
    cap_hit: `the size is at its cap (${p.toMb} MB, walrus.max ${policy.maxMb} MB or the WAL disk budget): the load needs more than walrus may set`,
    load_grew: `the load grew (WAL ${Math.round(before.wal_bytes_per_second / 1024)} kB/s before, ${Math.round(after.wal_bytes_per_second / 1024)} kB/s after): a further growth is the answer`,
    unexplained: 'WAL volume still forces them at the same rate: the growth was too small, or something else is at work',
  };
  return { verdict: 'not_helped', flag, reason: `the growth to ${p.toMb} MB did not reduce forced checkpoints (${rates}): ${why[flag]}` };
}

/**
 * The hold that applies to a growth for `cause` to `targetMb` at `atMs`, if
 * any. A hold for a cap that was hit does not hold a growth above that cap:
 * walrus.max (or the disk budget) was raised since.
 */
export function activeHold(memory: EffectMemory | undefined, cause: string, atMs: number, targetMb: number): EffectHold | null {
  const hold = memory?.hold ?? null;
  if (hold === null || hold.cause !== cause || atMs >= toMs(hold.until)) return null;
  return hold.capMb !== undefined && targetMb > hold.capMb ? null : hold;
}

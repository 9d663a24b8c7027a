import { ApplyResultV1, DecisionV1, type ApplyStatus, type DecisionAction } from '@walrus/core';

/** What the demo reads from the server itself once a second (not what walrus says about it). */
export interface Reading {
  atMs: number;
  maxWalSizeMb: number;
  /** Cumulative requested (forced) checkpoints. */
  requested: number;
  /** Cumulative timed checkpoints. */
  timed: number;
  /** WAL position as a byte count. */
  walBytes: number;
  checkpointTimeoutSec: number;
}

export interface DecisionEvent {
  kind: 'decision';
  atMs: number;
  id: string;
  action: DecisionAction;
  oldMb: number;
  newMb: number;
  forced: number;
  reason: string;
  /** `cooldown` or `hourly_limit` for a skipped decision. */
  blockedBy: string | null;
}

export interface AppliedEvent {
  kind: 'applied';
  atMs: number;
  decisionId: string;
  status: ApplyStatus;
  maxWalSizeMb: number | null;
  error: string | null;
}

export type DemoEvent = DecisionEvent | AppliedEvent;

/**
 * waiting: no forced checkpoint yet; forced: one within the last
 * checkpoint_timeout; settling: none for that long, but no timed checkpoint
 * since either; timed: none for `timedAfter` checkpoint_timeouts and a timed
 * one since, so the WAL of a whole checkpoint_timeout fitted in max_wal_size.
 */
export type Phase = 'waiting' | 'forced' | 'settling' | 'timed';

export interface Snapshot {
  elapsedMs: number;
  maxWalSizeMb: number | null;
  /** Every max_wal_size the server had during the demo, in order (32, 64, 128, ...). */
  sizes: number[];
  /** Since the demo's first reading. */
  forced: number;
  timed: number;
  forcedLastMinute: number;
  walBytesPerSec: number | null;
  lastForcedAgoMs: number | null;
  timedSinceLastForced: number;
  checkpointTimeoutSec: number | null;
  phase: Phase;
  /** Elapsed time at which the current `timed` phase began. */
  timedSinceMs: number | null;
  decisions: number;
  appliedChanges: number;
  /** Oldest first, one character per bucket: F forced, T timed, · neither, space before the start. */
  timeline: string;
  /** The latest events, oldest first. */
  events: DemoEvent[];
}

export interface DemoStateOptions {
  startedAtMs: number;
  /** A phase is `timed` after this many checkpoint_timeouts without a forced checkpoint. */
  timedAfter?: number;
  timelineBuckets?: number;
  timelineBucketMs?: number;
  keepEvents?: number;
}

interface Tick {
  atMs: number;
  forced: number;
  timed: number;
}

const WAL_RATE_WINDOW_MS = 5_000;

/**
 * The demo's model: readings of the server and walrus's events in, a
 * snapshot for the view out. Pure (the clock is passed in), so the view's
 * numbers are unit-tested without servers.
 */
export class DemoState {
  private readonly startedAtMs: number;
  private readonly timedAfter: number;
  private readonly buckets: number;
  private readonly bucketMs: number;
  private readonly keepEvents: number;
  private first: Reading | undefined;
  private last: Reading | undefined;
  private readonly recent: Reading[] = [];
  private readonly ticks: Tick[] = [];
  private readonly sizes: number[] = [];
  private lastForcedAtMs: number | null = null;
  private timedSinceLastForced = 0;
  private timedSinceMs: number | null = null;
  private readonly events: DemoEvent[] = [];
  private decisions = 0;
  private appliedChanges = 0;
  private readonly seenDecisions = new Set<string>();
  private readonly seenResults = new Set<string>();

  constructor(options: DemoStateOptions) {
    this.startedAtMs = options.startedAtMs;
    this.timedAfter = options.timedAfter ?? 1;
    this.buckets = options.timelineBuckets ?? 60;
    this.bucketMs = options.timelineBucketMs ?? 2_000;
    this.keepEvents = options.keepEvents ?? 50;
  }

  addReading(r: Reading): void {
    const prev = this.last;
    if (prev && r.atMs <= prev.atMs) return;
    if (!this.first) this.first = r;
    if (this.sizes.at(-1) !== r.maxWalSizeMb) this.sizes.push(r.maxWalSizeMb);
    if (prev) {
      // A negative delta is a statistics reset: count nothing for it.
      const forced = Math.max(0, r.requested - prev.requested);
      const timed = Math.max(0, r.timed - prev.timed);
      if (forced > 0 || timed > 0) this.ticks.push({ atMs: r.atMs, forced, timed });
      if (forced > 0) {
        this.lastForcedAtMs = r.atMs;
        this.timedSinceLastForced = 0;
      } else {
        this.timedSinceLastForced += timed;
      }
    }
    this.last = r;
    this.recent.push(r);
    const keepFrom = r.atMs - WAL_RATE_WINDOW_MS - 1_000;
    while (this.recent.length > 2 && (this.recent[0]?.atMs ?? 0) < keepFrom) this.recent.shift();
    const tickFrom = r.atMs - Math.max(60_000, this.buckets * this.bucketMs) - 1_000;
    while (this.ticks.length > 0 && (this.ticks[0]?.atMs ?? 0) < tickFrom) this.ticks.shift();
  }

  /** A message from `walrus.decision.>` or `walrus.applied.>`; returns the event, or null when it is not one (or a repeat). */
  addMessage(subject: string, payload: unknown, atMs: number): DemoEvent | null {
    if (subject.startsWith('walrus.decision.')) {
      const parsed = DecisionV1.safeParse(payload);
      if (!parsed.success || this.seenDecisions.has(parsed.data.id)) return null;
      const d = parsed.data;
      this.seenDecisions.add(d.id);
      this.decisions += 1;
      const blockedBy = typeof d.metadata['blocked_by'] === 'string' ? d.metadata['blocked_by'] : null;
      return this.push({
        kind: 'decision',
        atMs,
        id: d.id,
        action: d.action,
        oldMb: d.old_size_mb,
        newMb: d.new_size_mb,
        forced: d.forced_checkpoints,
        reason: d.reason,
        blockedBy,
      });
    }
    if (subject.startsWith('walrus.applied.')) {
      const parsed = ApplyResultV1.safeParse(payload);
      if (!parsed.success) return null;
      const a = parsed.data;
      const key = `${a.decision_id}:${a.status}`;
      if (this.seenResults.has(key)) return null;
      this.seenResults.add(key);
      if (a.status === 'applied') this.appliedChanges += 1;
      return this.push({ kind: 'applied', atMs, decisionId: a.decision_id, status: a.status, maxWalSizeMb: a.max_wal_size_mb, error: a.error });
    }
    return null;
  }

  private push(e: DemoEvent): DemoEvent {
    this.events.push(e);
    if (this.events.length > this.keepEvents) this.events.shift();
    return e;
  }

  snapshot(nowMs: number, recentEvents = 20): Snapshot {
    const first = this.first;
    const last = this.last;
    const timeoutSec = last?.checkpointTimeoutSec ?? null;
    const lastForcedAgoMs = this.lastForcedAtMs === null ? null : Math.max(0, nowMs - this.lastForcedAtMs);
    let phase: Phase;
    if (lastForcedAgoMs === null || timeoutSec === null) phase = 'waiting';
    else if (lastForcedAgoMs < timeoutSec * 1000) phase = 'forced';
    else if (lastForcedAgoMs >= this.timedAfter * timeoutSec * 1000 && this.timedSinceLastForced > 0) phase = 'timed';
    else phase = 'settling';
    if (phase !== 'timed') this.timedSinceMs = null;
    else this.timedSinceMs ??= nowMs - this.startedAtMs;

    let walBytesPerSec: number | null = null;
    const from = this.recent.find((r) => r.atMs >= nowMs - WAL_RATE_WINDOW_MS - 500) ?? this.recent[0];
    if (from && last && last.atMs - from.atMs >= 1_000) {
      walBytesPerSec = Math.max(0, last.walBytes - from.walBytes) / ((last.atMs - from.atMs) / 1000);
    }

    return {
      elapsedMs: nowMs - this.startedAtMs,
      maxWalSizeMb: last?.maxWalSizeMb ?? null,
      sizes: [...this.sizes],
      forced: first && last ? Math.max(0, last.requested - first.requested) : 0,
      timed: first && last ? Math.max(0, last.timed - first.timed) : 0,
      forcedLastMinute: this.ticks.filter((t) => t.atMs > nowMs - 60_000).reduce((n, t) => n + t.forced, 0),
      walBytesPerSec,
      lastForcedAgoMs,
      timedSinceLastForced: this.timedSinceLastForced,
      checkpointTimeoutSec: timeoutSec,
      phase,
      timedSinceMs: this.timedSinceMs,
      decisions: this.decisions,
      appliedChanges: this.appliedChanges,
      timeline: this.timeline(nowMs),
      events: this.events.slice(-recentEvents),
    };
  }

  private timeline(nowMs: number): string {
    let out = '';
    const firstAt = this.first?.atMs ?? nowMs;
    for (let i = this.buckets - 1; i >= 0; i--) {
      const end = nowMs - i * this.bucketMs;
      const start = end - this.bucketMs;
      if (end <= firstAt) {
        out += ' ';
        continue;
      }
      const inBucket = this.ticks.filter((t) => t.atMs > start && t.atMs <= end);
      if (inBucket.some((t) => t.forced > 0)) out += 'F';
      else if (inBucket.some((t) => t.timed > 0)) out += 'T';
      else out += '·';
    }
    return out;
  }
}

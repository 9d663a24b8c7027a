import { assert, describe, expect, it } from 'vitest';
import { at, baselined, policy, run, sample, evaluateOne, type SampleSpec } from '../testing/builders.js';
import { decisionId } from './decision-id.js';
import { DecisionV1 } from '../schemas.js';
import { countsForCluster } from './members.js';
import { initialState, type ClusterState } from './state/current.js';

const A = 'db1:5432';
const B = 'db2:5433';
const fast = policy({ cooldownSec: 300, maxChangesPerHour: 4, threshold: 2, maxMb: 4096 });

const a = (spec: SampleSpec) => sample({ member: A, timeline: 1, ...spec });
const b = (spec: SampleSpec) => sample({ member: B, recovery: true, timeline: 1, ...spec });

/** A primary A grown from 32 to 256 MB (the decision at 60 s, applied by the sample at 90 s), B a standby at 256. */
function grown(): ClusterState {
  const { results, state } = run(
    [
      // checkpoint_timeout 30 s: the 1 forced checkpoint at 30 s is not counted again with the 7 at 60 s
      a({ at: 0, requested: 0, size: 32, timeout: 30 }),
      b({ at: 1, requested: 500, size: 32, timeout: 30 }),
      a({ at: 30, requested: 1, size: 32, timeout: 30 }),
      a({ at: 60, requested: 8, size: 32, timeout: 30 }),
      a({ at: 90, requested: 8, size: 256 }),
      b({ at: 91, requested: 501, size: 256 }),
    ],
    fast,
  );
  expect(results[3]?.decision).toMatchObject({ action: 'increase', old_size_mb: 32, new_size_mb: 256 });
  return state;
}

describe('members - decisions come from the primary', () => {
  it("members - a standby's counters never mix with the primary's", () => {
    const { results, state } = run(
      [a({ at: 0, requested: 10 }), b({ at: 100, requested: 900 }), b({ at: 200, requested: 950 }), a({ at: 300, requested: 13 })],
      fast,
    );
    expect(results.map((r) => r.outcome.kind)).toEqual(['baseline', 'standby', 'standby', 'decision']);
    expect(results[3]?.decision).toMatchObject({ action: 'increase', forced_checkpoints: 3, metadata: { primary_member: A } });
    // The primary's decision keeps the id of a single-host cluster's (cluster and sample time).
    expect(results[3]?.decision?.id).toBe(decisionId('pg-test', at(300)));
    expect(state).toMatchObject({ prevRequested: 13, counterMember: A, primary: { member: A, timeline: 1, demoted: false } });
    expect(state.members?.[B]).toEqual({ role: 'standby', maxWalSizeMb: 1024, timeline: 1, lastSampleAt: at(200) });
    const decision = results[3]?.decision;
    assert(decision);
    // The typed fields, and their copies in metadata for subscribers that read those.
    expect(decision.primary_member).toBe(A);
    expect(decision.target_member).toBeUndefined();
    expect(DecisionV1.parse(decision)).toEqual(decision);
  });

  it('members - rule 1 holds per member: an interleaved sample of another member is evaluated, a repeat is ignored', () => {
    const first = run([a({ at: 0, requested: 0 }), a({ at: 300, requested: 0 })], fast).state;
    const earlier = evaluateOne(first, b({ at: 299, requested: 7 }), fast);
    expect(earlier.outcome.kind).toBe('standby');
    expect(earlier.state.members?.[B]?.lastSampleAt).toBe(at(299));
    const again = evaluateOne(earlier.state, b({ at: 299, requested: 7 }), fast);
    expect(again.outcome.kind).toBe('ignored_old_sample');
    expect(again.state).toBe(earlier.state);
    expect(evaluateOne(earlier.state, a({ at: 300, requested: 5 }), fast).outcome.kind).toBe('ignored_old_sample');
  });

  it('members - a lone standby is judged as a single-host standby: its counters are the baseline (rule 4)', () => {
    const { results, state } = run([b({ at: 0, requested: 5 }), b({ at: 300, requested: 9 })], fast);
    expect(results.map((r) => r.outcome.kind)).toEqual(['baseline', 'standby']);
    expect(state).toMatchObject({ counterMember: B, prevRequested: 9 });
    // When a primary appears, its counters become the baseline: no decision from the standby's.
    const r = evaluateOne(state, a({ at: 301, requested: 100 }), fast);
    expect(r.outcome.kind).toBe('baseline');
    expect(r.decision).toBeNull();
    expect(r.state).toMatchObject({ counterMember: A, prevRequested: 100, primary: { member: A } });
  });

  it('members - a state written before members existed carries on without a new baseline', () => {
    const r = evaluateOne(baselined({ prevRequested: 0 }), a({ at: 300, requested: 3 }), fast);
    expect(r.decision).toMatchObject({ action: 'increase', forced_checkpoints: 3 });
    expect(r.state.counterMember).toBe(A);
    expect(countsForCluster(baselined(), a({ at: 300 }))).toBe(true);
  });
});

describe('members - failover', () => {
  it('members - a new primary below the learned size is restored at once, counted but not rate limited', () => {
    const state = grown();
    expect(state.learned).toMatchObject({ sizeMb: 256 });
    // B was re-created from a backup at 32 MB and promoted: timeline 2, its own counters.
    const promoted = b({ at: 120, requested: 3, size: 32, recovery: false, timeline: 2 });
    const r = evaluateOne(state, promoted, fast);
    expect(r.decision).toMatchObject({
      action: 'increase',
      old_size_mb: 32,
      new_size_mb: 256,
      forced_checkpoints: 0,
      metadata: { failover: true, primary_member: B, previous_primary: A, timeline_from: 1, timeline_to: 2, learned_size_mb: 256, rate_limits_bypassed: true },
    });
    expect(r.decision?.reason).toMatch(/^failover: db2:5433 is the primary now \(was db1:5432; timeline 1 -> 2\).*32 MB, below the 256 MB .*restored at once/);
    expect(r.decision?.id).toBe(decisionId('pg-test', at(120), B));
    // The cooldown of the growth at 60 s (300 s) did not hold it back, but it counts.
    expect(r.state).toMatchObject({
      counterMember: B,
      prevRequested: 3,
      primary: { member: B, timeline: 2, demoted: false },
      lastAdjustmentAt: at(120),
      changesThisHour: 2,
      totalAdjustments: 2,
      failovers: 1,
    });
    // The old primary, last seen as primary, is a stale one now.
    expect(r.state.members?.[A]?.role).toBe('stale_primary');
    // The new primary's counters are its own: its next forced checkpoints count from 3.
    const next = evaluateOne(r.state, b({ at: 150, requested: 4, size: 256, recovery: false, timeline: 2 }), fast);
    expect(next.outcome.kind).toBe('no_change');
    expect(next.state.prevRequested).toBe(4);
  });

  it('members - a new primary already at the learned size: re-baseline, no decision', () => {
    const r = evaluateOne(grown(), b({ at: 120, requested: 2, size: 256, recovery: false, timeline: 2 }), fast);
    expect(r.decision).toBeNull();
    expect(r.outcome).toMatchObject({ kind: 'failover' });
    expect(r.outcome.reason).toMatch(/failover: db2:5433 is the primary now .*counters re-baselined; it runs max_wal_size 256 MB/);
    expect(r.state).toMatchObject({ counterMember: B, prevRequested: 2, totalAdjustments: 1, failovers: 1 });
  });

  it('members - the restore is capped at walrus.max and obeys dry run', () => {
    const capped = evaluateOne(grown(), b({ at: 120, size: 32, recovery: false, timeline: 2 }), { ...fast, maxMb: 128 });
    expect(capped.decision).toMatchObject({ action: 'capped', new_size_mb: 128, metadata: { walrus_max_mb: 128 } });
    const dry = evaluateOne(grown(), b({ at: 120, size: 32, recovery: false, timeline: 2 }), { ...fast, dryRun: true });
    expect(dry.decision).toMatchObject({ action: 'dry_run', new_size_mb: 256, metadata: { would_apply: 'increase', dry_run: true } });
    expect(dry.state.totalAdjustments).toBe(1);
    const off = evaluateOne(grown(), b({ at: 120, size: 32, recovery: false, timeline: 2 }), { ...fast, enable: false });
    expect(off.decision).toBeNull();
  });

  it("members - the restore stays within the new primary's WAL disk budget", () => {
    const slot = { name: 's1', type: 'physical' as const, active: false, wal_status: 'reserved', retained_bytes: 100 * 1024 * 1024, safe_wal_size_bytes: null };
    const promoted = { ...b({ at: 120, size: 32, recovery: false, timeline: 2 }), replication_slots: [slot], wal_keep_size_mb: 0 };
    const r = evaluateOne(grown(), promoted, { ...fast, walDiskBudgetMb: 300, minSizeMb: 32 });
    expect(r.decision).toMatchObject({ action: 'capped', new_size_mb: 200, metadata: { failover: true, wal_disk_budget_mb: 300, wal_disk_limit_mb: 200 } });
    expect(r.decision?.reason).toMatch(/capped at 200 MB by the WAL disk budget: walrus.wal_disk_budget 300 MB leaves 200 MB/);
  });

  it('members - a switchover: the old primary seen in recovery first, then the new one', () => {
    const state = grown();
    const demoted = evaluateOne(state, a({ at: 100, requested: 9, size: 256, recovery: true, timeline: 1 }), fast);
    expect(demoted.state.primary).toMatchObject({ member: A, demoted: true });
    expect(demoted.decision).toBeNull();
    const r = evaluateOne(demoted.state, b({ at: 101, requested: 501, size: 256, recovery: false, timeline: 2 }), fast);
    expect(r.outcome.kind).toBe('failover');
    expect(r.state).toMatchObject({ counterMember: B, prevRequested: 501, primary: { member: B, timeline: 2 } });
    // The old primary, now a standby on the new timeline, decides nothing.
    const after = evaluateOne(r.state, a({ at: 102, requested: 10, size: 256, recovery: true, timeline: 2 }), fast);
    expect(after.outcome.kind).toBe('standby');
    expect(after.state.prevRequested).toBe(501);
  });

  it('members - a primary restarted in place on the next timeline is re-baselined and restored if needed', () => {
    const state = grown();
    const r = evaluateOne(state, a({ at: 120, requested: 0, size: 32, timeline: 2 }), fast);
    expect(r.decision).toMatchObject({ action: 'increase', new_size_mb: 256, metadata: { failover: false, timeline_change: true, primary_member: A } });
    expect(r.decision?.reason).toMatch(/^the primary db1:5432 moved from timeline 1 to 2/);
    expect(r.state.prevRequested).toBe(0);
  });

  it('members - a stale old primary on an older timeline (split brain) is ignored', () => {
    const failed = evaluateOne(grown(), b({ at: 120, requested: 3, size: 256, recovery: false, timeline: 2 }), fast).state;
    const stale = evaluateOne(failed, a({ at: 121, requested: 99, size: 256, recovery: false, timeline: 1 }), fast);
    expect(stale.outcome.kind).toBe('split_brain');
    expect(stale.outcome.reason).toMatch(/member db1:5432 reports itself primary on timeline 1, but db2:5433 is the primary on timeline 2/);
    expect(stale.decision).toBeNull();
    expect(stale.state).toMatchObject({ counterMember: B, prevRequested: 3, primary: { member: B } });
    expect(stale.state.members?.[A]?.role).toBe('stale_primary');
    // The real primary goes on deciding from its own counters.
    const next = evaluateOne(stale.state, b({ at: 150, requested: 6, size: 256, recovery: false, timeline: 2 }), { ...fast, cooldownSec: 0 });
    expect(next.decision).toMatchObject({ action: 'increase', forced_checkpoints: 3, metadata: { primary_member: B } });
  });
});

describe('members - standbys brought to the cluster size', () => {
  it('members - a standby below the cluster size gets a decision naming it, once per sizes until it expires', () => {
    const state = grown();
    const r = evaluateOne(state, b({ at: 200, requested: 502, size: 32 }), fast);
    expect(r.decision).toMatchObject({
      action: 'increase',
      old_size_mb: 32,
      new_size_mb: 256,
      metadata: { target_member: B, primary_member: A, member_sync: true, cluster_size_mb: 256 },
    });
    expect(r.decision?.id).toBe(decisionId('pg-test', at(200), B));
    expect(r.decision).toMatchObject({ target_member: B, primary_member: A });
    expect(DecisionV1.safeParse(r.decision).success).toBe(true);
    // Not a cluster change: no rate limit touched, the primary's counters untouched.
    expect(r.state).toMatchObject({ totalAdjustments: 1, changesThisHour: state.changesThisHour, prevRequested: state.prevRequested });
    expect(evaluateOne(r.state, b({ at: 230, requested: 502, size: 32 }), fast).decision).toBeNull();
    // After the decision's expiry (2 x checkpoint_timeout) it is asked again.
    expect(evaluateOne(r.state, b({ at: 801, requested: 502, size: 32 }), fast).decision).toMatchObject({ new_size_mb: 256, metadata: { target_member: B } });
    // A standby above the cluster size is brought down to it.
    expect(evaluateOne(state, b({ at: 200, size: 512 }), fast).decision).toMatchObject({ action: 'decrease', new_size_mb: 256 });
  });

  it('members - no member decision while the cluster decision may still be on its way to the standby', () => {
    const { state } = run([a({ at: 0, requested: 0, size: 32 }), b({ at: 1, size: 32 }), a({ at: 30, requested: 5, size: 32 })], fast);
    expect(state.learned).toMatchObject({ sizeMb: 192, pendingFromMb: 32 });
    expect(evaluateOne(state, b({ at: 31, size: 32 }), fast).decision).toBeNull();
    // The primary still at 32 MB a moment later: the applier may still be at it, the cluster size stays.
    expect(evaluateOne(state, a({ at: 45, requested: 5, size: 32 }), fast).state.learned).toMatchObject({ sizeMb: 192 });
    // Once the decision has expired, what the primary runs with is the cluster size.
    expect(evaluateOne(state, a({ at: 631, requested: 5, size: 32 }), fast).state.learned).toMatchObject({ sizeMb: 32, pendingUntil: null });
  });

  it('members - dry run and walrus.enable = off hold member decisions back', () => {
    const state = grown();
    expect(evaluateOne(state, b({ at: 200, size: 32 }), { ...fast, dryRun: true }).decision).toMatchObject({
      action: 'dry_run',
      metadata: { target_member: B, would_apply: 'increase' },
    });
    expect(evaluateOne(state, b({ at: 200, size: 32 }), { ...fast, enable: false }).decision).toBeNull();
    expect(evaluateOne(initialState(), b({ at: 0, size: 32 }), fast).decision).toBeNull();
  });

  it('members - facts of a member not seen for a day are forgotten', () => {
    const state = grown();
    const later = evaluateOne(state, a({ at: 90 + 25 * 3600, requested: 8, size: 256 }), fast);
    expect(Object.keys(later.state.members ?? {})).toEqual([A]);
  });
});

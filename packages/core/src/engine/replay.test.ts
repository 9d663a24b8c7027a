import { describe, expect, it } from 'vitest';
import { DecisionV1, type Decision } from '../schemas.js';
import { at, baselined, policy, run, sample, evaluateOne } from '../testing/builders.js';
import { v5 as uuidv5 } from 'uuid';
import { DECISION_ID_NAMESPACE, decisionId } from './decision-id.js';
import { ClusterStateV2, initialState } from './state/current.js';

/*
 * A day in the life of a cluster: a spike that grows and hits walrus.max,
 * rate limits, a statistics reset, a quiet tail that shrinks. Sizes follow
 * what the applier would have set.
 */
const story = [
  sample({ requested: 0, at: 0, size: 1024 }),
  sample({ requested: 3, at: 300, size: 1024 }), // increase 4096
  sample({ requested: 6, at: 600, size: 4096 }), // capped 8192 (cooldown 300 ends exactly)
  sample({ requested: 9, at: 700, size: 8192 }), // at walrus.max: nothing
  sample({ requested: 0, at: 1000, size: 8192 }), // statistics reset: re-baseline
  sample({ requested: 0, at: 1300, size: 8192 }),
  sample({ requested: 0, at: 1600, size: 8192 }), // decrease 6144
  sample({ requested: 0, at: 1700, size: 6144 }),
  sample({ requested: 0, at: 1800, size: 6144 }), // shrink blocked by cooldown: skipped
  sample({ requested: 0, at: 2000, size: 6144 }), // decrease 4608
];
const storyPolicy = policy({ maxMb: 8192, shrinkIntervals: 2, minSizeMb: 1024 });

describe('replay - determinism', () => {
  it('replay - the story makes the expected decisions', () => {
    const { results } = run(story, storyPolicy);
    expect(results.map((r) => r.decision?.action ?? r.outcome.kind)).toEqual([
      'baseline',
      'increase',
      'capped',
      'no_change',
      'rebaseline',
      'no_change',
      'decrease',
      'no_change',
      'skipped',
      'decrease',
    ]);
    expect(results.map((r) => r.decision?.new_size_mb ?? null)).toEqual([
      null, 4096, 8192, null, null, null, 6144, null, 4608, 4608,
    ]);
  });

  it('replay - the same samples give the same decisions with the same ids, whenever they are evaluated', () => {
    const first = run(story, storyPolicy, initialState(), '2025-06-01T00:00:00.000Z');
    const second = run(story, storyPolicy, initialState(), '2026-01-01T00:00:00.000Z');
    const strip = (d: Decision | null) => (d ? { ...d, decided_at: undefined } : null);
    expect(second.results.map((r) => strip(r.decision))).toEqual(first.results.map((r) => strip(r.decision)));
    expect(second.state).toEqual(first.state);
  });

  it('replay - a redelivered sample is ignored after it was evaluated', () => {
    const { state } = run(story.slice(0, 2), storyPolicy);
    const again = evaluateOne(state, story[1] ?? sample(), storyPolicy);
    expect(again.outcome.kind).toBe('ignored_old_sample');
    expect(again.decision).toBeNull();
  });

  it('replay - every decision of every action validates against DecisionV1', () => {
    const decisions = run(story, storyPolicy).results.flatMap((r) => (r.decision ? [r.decision] : []));
    decisions.push(
      ...run(story, { ...storyPolicy, dryRun: true }).results.flatMap((r) => (r.decision ? [r.decision] : [])),
    );
    expect(new Set(decisions.map((d) => d.action))).toEqual(new Set(['increase', 'capped', 'decrease', 'skipped', 'dry_run']));
    for (const d of decisions) expect(DecisionV1.safeParse(d).error).toBeUndefined();
  });
});

/** uuid v5 of "pg-test|1735689600000" in the decision namespace, as the uuid package computed it. */
const PINNED_ID = '489cc73f-99e6-5be4-ad09-c71818b6bfef';

describe('replay - decision ids', () => {
  it('replay - the id is a UUID v5 of cluster and sample time in ms', () => {
    const id = decisionId('pg-test', at(300));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(decisionId('pg-test', '2025-01-01T01:05:00+01:00')).toBe(id);
    expect(decisionId('pg-test', at(301))).not.toBe(id);
    expect(decisionId('pg-other', at(300))).not.toBe(id);
  });

  it('replay - the namespace is fixed, so ids stay stable across releases', () => {
    expect(DECISION_ID_NAMESPACE).toBe('ee061a0f-ff86-432b-9c0a-002668cb9cf3');
    expect(decisionId('pg-test', '2025-01-01T00:00:00.000Z')).toBe(decisionId('pg-test', '2025-01-01T00:00:00Z'));
  });

  it('replay - ids are the RFC 9562 UUID v5 of the uuid package, and pinned', () => {
    for (const [cluster, t] of [['pg-test', 0], ['fleet-00042', 1_700_000_000_123], ['ünïcode-ßtate', 5]] as const) {
      expect(decisionId(cluster, new Date(t).toISOString())).toBe(uuidv5(`${cluster}|${t}`, DECISION_ID_NAMESPACE));
    }
    // A literal, so that a change of namespace or name format cannot pass unnoticed.
    expect(decisionId('pg-test', '2025-01-01T00:00:00Z')).toBe(PINNED_ID);
  });

  it('replay - a decision takes the id of its sample', () => {
    const r = evaluateOne(baselined(), sample({ requested: 3, at: 300 }));
    expect(r.decision?.id).toBe(decisionId('pg-test', at(300)));
  });
});

describe('replay - state storage', () => {
  it('replay - every state of the story round-trips through JSON and ClusterStateV2', () => {
    const states = run(story, storyPolicy).results.map((r) => r.state);
    for (const s of [initialState(), ...states]) {
      expect(ClusterStateV2.parse(JSON.parse(JSON.stringify(s)))).toEqual(s);
    }
  });

  it('replay - evaluation continues identically from a state read back from storage', () => {
    const half = run(story.slice(0, 6), storyPolicy);
    const restored = ClusterStateV2.parse(JSON.parse(JSON.stringify(half.state)));
    const resumed = run(story.slice(6), storyPolicy, restored);
    const straight = run(story, storyPolicy);
    expect(resumed.results.map((r) => r.decision)).toEqual(straight.results.slice(6).map((r) => r.decision));
  });

  it('replay - ClusterStateV2 refuses another version, unknown fields and bad values', () => {
    expect(ClusterStateV2.safeParse({ ...initialState(), v: 1 }).success).toBe(false);
    expect(ClusterStateV2.safeParse({ ...initialState(), extra: 1 }).success).toBe(false);
    expect(ClusterStateV2.safeParse({ ...initialState(), quietIntervals: -1 }).success).toBe(false);
    expect(ClusterStateV2.safeParse({ ...initialState(), lastSampleAt: 'yesterday' }).success).toBe(false);
    expect(ClusterStateV2.safeParse(null).success).toBe(false);
  });
});

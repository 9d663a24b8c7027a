import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES, type Policy, type ProactiveSizing } from '../config/policy.js';
import type { Decision } from '../schemas.js';
import { at, policy, sample } from '../testing/builders.js';
import { evaluate } from './evaluate.js';
import { initialState } from './state/current.js';

const EXECUTABLE = new Set(['increase', 'decrease', 'capped']);
const MB = 1024 * 1024;

const policyArb: fc.Arbitrary<Policy> = fc
  .record({
    algorithm: fc.constantFrom(...ALGORITHM_NAMES),
    proactiveSizing: fc.constantFrom<ProactiveSizing>('auto', 'on', 'off'),
    maxMb: fc.integer({ min: 64, max: 2_000_000 }),
    minFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    threshold: fc.integer({ min: 1, max: 5 }),
    shrinkEnable: fc.boolean(),
    shrinkFactor: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
    shrinkIntervals: fc.integer({ min: 1, max: 4 }),
    // Often none or short, so that runs reach the hourly limit.
    cooldownSec: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 120 }), fc.integer({ min: 0, max: 1800 })),
    maxChangesPerHour: fc.integer({ min: 0, max: 10 }),
    dryRun: fc.boolean(),
    additiveIncrementMb: fc.integer({ min: 1, max: 100_000 }),
    emaAlpha: fc.double({ min: 0.01, max: 1, noNaN: true }),
    targetPercentile: fc.integer({ min: 1, max: 100 }),
  })
  .map(({ minFraction, ...p }) => policy({ ...p, dryRun: p.dryRun && minFraction > 0.8, minSizeMb: Math.max(2, Math.floor(p.maxMb * minFraction)) }));

/**
 * One interval: seconds since the previous sample, checkpoints requested in
 * it (or -1: a statistics reset), the WAL written (MB/s) and whether the
 * redo point moved with it (a checkpoint ran), so that the WAL-rate
 * algorithms see every kind of interval.
 */
const stepArb = fc.record({
  dt: fc.integer({ min: 1, max: 1200 }),
  requested: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constant(-1)),
  walMbPerSec: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 200, noNaN: true })),
  redoMoves: fc.boolean(),
});
type Step = { dt: number; requested: number; walMbPerSec: number; redoMoves: boolean };

interface Run {
  decisions: Decision[];
}

/** Feeds samples as the collector would see them: the size moves only when an executable decision is applied. */
function simulate(p: Policy, startMb: number, steps: Step[]): Run {
  let state = initialState();
  let size = startMb;
  let requested = 0;
  let t = 0;
  let wal = 0;
  let redo = 0;
  const decisions: Decision[] = [];
  for (const s of steps) {
    t += s.dt;
    requested = s.requested < 0 ? 0 : requested + s.requested;
    wal += Math.round(s.walMbPerSec * MB * s.dt);
    if (s.redoMoves) redo = wal;
    const smp = { ...sample({ at: t, requested, size, walBytes: wal, timeout: 300 }), checkpoint_redo_bytes: redo, wal_segment_size_bytes: 16 * MB };
    const r = evaluate({ state, sample: smp, policy: p, now: '2025-06-01T12:00:00.000Z' });
    state = r.state;
    if (r.decision) {
      decisions.push(r.decision);
      if (EXECUTABLE.has(r.decision.action)) size = r.decision.new_size_mb;
    }
  }
  return { decisions };
}

/**
 * The hour windows of pg_walrus, rebuilt from the changes alone: the first
 * change opens a window of one hour; a change at or after its end opens the
 * next. Returns how many changes each window holds.
 */
function changesPerWindow(timesMs: number[]): number[] {
  const counts: number[] = [];
  let windowStart: number | null = null;
  for (const t of timesMs) {
    if (windowStart === null || t >= windowStart + 3600_000) {
      windowStart = t;
      counts.push(1);
    } else {
      counts.push((counts.pop() ?? 0) + 1);
    }
  }
  return counts;
}

const runArb = fc.tuple(policyArb, fc.integer({ min: 32, max: 4_000_000 }), fc.array(stepArb, { minLength: 1, maxLength: 40 }));

describe('fuzz - decision engine invariants (every algorithm)', () => {
  it('fuzz - never grows above walrus.max, never shrinks below walrus.min_size', () => {
    fc.assert(
      fc.property(runArb, ([p, start, steps]) => {
        for (const d of simulate(p, start, steps).decisions) {
          if (d.action === 'increase' || d.action === 'capped') {
            expect(d.new_size_mb).toBeLessThanOrEqual(p.maxMb);
            expect(d.new_size_mb).toBeGreaterThan(d.old_size_mb);
          }
          if (d.action === 'decrease') {
            expect(d.new_size_mb).toBeGreaterThanOrEqual(p.minSizeMb);
            expect(d.new_size_mb).toBeLessThan(d.old_size_mb);
          }
          expect(d.new_size_mb).toBeGreaterThanOrEqual(2);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('fuzz - never two executable changes inside the cooldown, never more per hour window than allowed', () => {
    fc.assert(
      fc.property(runArb, ([p, start, steps]) => {
        const changes = simulate(p, start, steps).decisions.filter((d) => EXECUTABLE.has(d.action) || d.action === 'dry_run');
        const times = changes.map((d) => Date.parse(d.sample_at));
        times.forEach((t, i) => {
          const before = times[i - 1];
          if (before !== undefined) expect(t - before).toBeGreaterThanOrEqual(p.cooldownSec * 1000);
        });
        if (p.maxChangesPerHour === 0) expect(changes).toEqual([]);
        // Each one-hour window holds at most max_changes_per_hour changes: the limit itself, not twice it.
        for (const n of changesPerWindow(times)) expect(n).toBeLessThanOrEqual(p.maxChangesPerHour);
      }),
      { numRuns: 400 },
    );
  });

  it('fuzz - adaptive and percentile never shrink within a checkpoint_timeout of a growth (samples may come every second)', () => {
    fc.assert(
      fc.property(runArb, fc.constantFrom('adaptive' as const, 'percentile' as const), ([p, start, steps], algorithm) => {
        let lastGrowth: number | null = null;
        for (const d of simulate({ ...p, algorithm }, start, steps).decisions) {
          const t = Date.parse(d.sample_at);
          const wanted = d.action === 'dry_run' || d.action === 'skipped' ? d.metadata.would_apply : d.action;
          if (wanted === 'increase' || wanted === 'capped') lastGrowth = t;
          if (wanted === 'decrease' && lastGrowth !== null) expect(t - lastGrowth).toBeGreaterThanOrEqual(300_000);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('fuzz - replaying the same samples gives the same decisions and ids', () => {
    fc.assert(
      fc.property(runArb, ([p, start, steps]) => {
        const a = simulate(p, start, steps).decisions;
        const b = simulate(p, start, steps).decisions;
        expect(b).toEqual(a);
        expect(new Set(a.map((d) => d.id)).size).toBe(a.length);
      }),
      { numRuns: 100 },
    );
  });

  it('fuzz - a redelivered or older sample changes nothing', () => {
    fc.assert(
      fc.property(runArb, fc.nat(), ([p, start, steps], pick) => {
        let state = initialState();
        let t = 0;
        let requested = 0;
        let wal = 0;
        for (const s of steps) {
          t += s.dt;
          requested = s.requested < 0 ? 0 : requested + s.requested;
          wal += Math.round(s.walMbPerSec * MB * s.dt);
          state = evaluate({ state, sample: sample({ at: t, requested, size: start, walBytes: wal }), policy: p, now: at(0) }).state;
        }
        const older = sample({ at: pick % (t + 1), requested: requested + 5, size: start });
        const r = evaluate({ state, sample: older, policy: p, now: at(0) });
        expect(r.decision).toBeNull();
        expect(r.state).toEqual(state);
      }),
      { numRuns: 100 },
    );
  });

  it('fuzz - the generated runs reach every algorithm\'s growth, shrink and rate limits (the properties above are not vacuous)', () => {
    const all = new Set<string>();
    for (const algorithm of ALGORITHM_NAMES) {
      const runs = fc.sample(runArb.map(([p, start, steps]) => [{ ...p, algorithm }, start, steps] as const), { numRuns: 300, seed: 42 });
      const actions = new Set(runs.flatMap(([p, start, steps]) => simulate(p, start, steps).decisions.map((d) => `${d.action}:${String(d.metadata.blocked_by ?? '')}`)));
      expect([...actions], algorithm).toEqual(expect.arrayContaining(['increase:', 'decrease:', 'skipped:cooldown', 'skipped:hourly_limit']));
      for (const a of actions) all.add(a);
    }
    expect([...all]).toEqual(expect.arrayContaining(['capped:', 'dry_run:']));
  });
});

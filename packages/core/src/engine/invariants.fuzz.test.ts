import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Policy } from '../config/policy.js';
import type { Decision } from '../schemas.js';
import { at, policy, sample } from '../testing/builders.js';
import { evaluate } from './evaluate.js';
import { initialState } from './state.js';

const EXECUTABLE = new Set(['increase', 'decrease', 'capped']);

const policyArb: fc.Arbitrary<Policy> = fc
  .record({
    maxMb: fc.integer({ min: 64, max: 2_000_000 }),
    minFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    threshold: fc.integer({ min: 1, max: 5 }),
    shrinkEnable: fc.boolean(),
    shrinkFactor: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
    shrinkIntervals: fc.integer({ min: 1, max: 4 }),
    cooldownSec: fc.integer({ min: 0, max: 1800 }),
    maxChangesPerHour: fc.integer({ min: 0, max: 10 }),
    dryRun: fc.boolean(),
  })
  .map(({ minFraction, ...p }) => policy({ ...p, dryRun: p.dryRun && minFraction > 0.8, minSizeMb: Math.max(2, Math.floor(p.maxMb * minFraction)) }));

/** One interval: seconds since the previous sample, checkpoints requested in it (or a statistics reset), standby or not. */
const stepArb = fc.record({
  dt: fc.integer({ min: 1, max: 1200 }),
  requested: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constant(-1)),
});

interface Run {
  decisions: Decision[];
}

/** Feeds samples as the collector would see them: the size moves only when an executable decision is applied. */
function simulate(p: Policy, startMb: number, steps: { dt: number; requested: number }[]): Run {
  let state = initialState();
  let size = startMb;
  let requested = 0;
  let t = 0;
  const decisions: Decision[] = [];
  for (const s of steps) {
    t += s.dt;
    requested = s.requested < 0 ? 0 : requested + s.requested;
    const r = evaluate({ state, sample: sample({ at: t, requested, size }), policy: p, now: '2025-06-01T12:00:00.000Z' });
    state = r.state;
    if (r.decision) {
      decisions.push(r.decision);
      if (EXECUTABLE.has(r.decision.action)) size = r.decision.new_size_mb;
    }
  }
  return { decisions };
}

const runArb = fc.tuple(policyArb, fc.integer({ min: 32, max: 4_000_000 }), fc.array(stepArb, { minLength: 1, maxLength: 40 }));

describe('fuzz - decision engine invariants (multiplicative)', () => {
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
      { numRuns: 200 },
    );
  });

  it('fuzz - never two executable changes inside the cooldown, never more per hour window than allowed', () => {
    fc.assert(
      fc.property(runArb, ([p, start, steps]) => {
        const changes = simulate(p, start, steps).decisions.filter((d) => EXECUTABLE.has(d.action) || d.action === 'dry_run');
        const times = changes.map((d) => Date.parse(d.sample_at));
        for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(p.cooldownSec * 1000);
        if (p.maxChangesPerHour === 0) expect(changes).toEqual([]);
        // Within any hour there can be at most twice the limit (two adjacent windows).
        for (const t of times) expect(times.filter((u) => u >= t && u < t + 3600_000).length).toBeLessThanOrEqual(2 * p.maxChangesPerHour);
      }),
      { numRuns: 200 },
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
        for (const s of steps) {
          t += s.dt;
          requested = s.requested < 0 ? 0 : requested + s.requested;
          state = evaluate({ state, sample: sample({ at: t, requested, size: start }), policy: p, now: at(0) }).state;
        }
        const older = sample({ at: pick % (t + 1), requested: requested + 5, size: start });
        const r = evaluate({ state, sample: older, policy: p, now: at(0) });
        expect(r.decision).toBeNull();
        expect(r.state).toEqual(state);
      }),
      { numRuns: 100 },
    );
  });
});

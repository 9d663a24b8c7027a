import { assert, describe, expect, it } from 'vitest';
import { at, baselined, policy, sample, evaluateOne, T0 } from '../testing/builders.js';
import { clockWentBack, sampleAhead } from './clock.js';
import type { ClusterState } from './state/current.js';

const SKEW_MS = 300_000;
const DAY_S = 86_400;
const YEAR_S = 365 * DAY_S;

/** The decider's clock and the NATS server's, `sec` seconds after T0 (hosts in step). */
const facts = (storedSec: number, nowSec = storedSec) => ({ storedAtMs: T0 + storedSec * 1000, nowMs: T0 + nowSec * 1000, maxSkewMs: SKEW_MS });

/** The state after samples up to `lastSec`, each stored when it was taken. */
const after = (lastSec: number, over: Partial<ClusterState> = {}): ClusterState =>
  baselined({ lastSampleAt: at(lastSec), lastSampleStoredAt: at(lastSec), prevRequested: 10, prevWalBytes: 1000, ...over });

describe('clock - a sample dated ahead of the decider', () => {
  it('is refused beyond the tolerance only, saying by how much and why', () => {
    expect(sampleAhead(sample({ at: 600 + 300 }), T0 + 600_000, SKEW_MS)).toBeNull();
    const reason = sampleAhead(sample({ at: 600 + 301 }), T0 + 600_000, SKEW_MS);
    expect(reason).toMatch(/^clock ahead: collected_at .* is 301 s ahead of the decider's clock \(at most 300 s, WALRUS_MAX_CLOCK_SKEW_SEC\)/);
    expect(sampleAhead(sample({ at: YEAR_S }), T0, SKEW_MS)).toMatch(/31536000 s ahead/);
    // Any age in the past is fine (a backlog worked off after an outage).
    expect(sampleAhead(sample({ at: 0 }), T0 + YEAR_S * 1000, SKEW_MS)).toBeNull();
  });
});

describe('clock - a sample dated before the last one (rule 1)', () => {
  it('a collector clock that went back a day: new baseline, with the rate limits held from the new clock', () => {
    const state = after(600, { lastAdjustmentAt: at(500), hourWindowStart: at(100), changesThisHour: 2, quietIntervals: 3 });
    // Stored 60 s after the last one, dated a day before it.
    const s = sample({ at: 660 - DAY_S, requested: 15, walBytes: 2000 });
    const jump = clockWentBack(state, s, facts(660));
    expect(jump?.reason).toMatch(/^clock went back: .*stored 60 s after the last sample evaluated \(NATS server's clock\) but is dated 86340 s before it; new baseline/);
    expect(jump?.state).toMatchObject({
      prevRequested: null,
      lastSampleAt: null,
      prevWalBytes: null,
      // Instants later than the sample move to it: the cooldown and the hour window start again from there.
      lastAdjustmentAt: s.collected_at,
      hourWindowStart: s.collected_at,
      changesThisHour: 2,
      quietIntervals: 3,
    });
    // Evaluated on that state, the sample is the new baseline; the next one on the same clock decides.
    assert(jump);
    const base = evaluateOne(jump.state, s, policy({ cooldownSec: 0 }));
    expect(base.outcome.kind).toBe('baseline');
    const later = sample({ at: 720 - DAY_S, requested: 17, walBytes: 3000 });
    expect(evaluateOne(base.state, later, policy({ cooldownSec: 0 })).decision).toMatchObject({ action: 'increase', forced_checkpoints: 2, new_size_mb: 3072 });
    // With a cooldown, the change at 500 s on the old clock blocks until the cooldown after the jump, not for a day.
    expect(evaluateOne(base.state, later, policy({ cooldownSec: 300 })).decision).toMatchObject({
      action: 'skipped',
      metadata: { blocked_by: 'cooldown', blocked_until: at(660 - DAY_S + 300) },
    });
  });

  it('instants before the sample are kept as they are', () => {
    const state = after(600, { lastAdjustmentAt: at(10), hourWindowStart: at(10) });
    const jump = clockWentBack(state, sample({ at: 400, walBytes: 2000 }), facts(1000));
    expect(jump?.state).toMatchObject({ lastAdjustmentAt: at(10), hourWindowStart: at(10) });
  });

  it('a state whose last sample lies ahead of the decider (from before such samples were refused) is re-baselined', () => {
    const poisoned = after(YEAR_S, { lastSampleStoredAt: undefined });
    const jump = clockWentBack(poisoned, sample({ at: 660, walBytes: 2000 }), facts(660));
    expect(jump?.reason).toMatch(/the last sample evaluated \(.*\) lies \d+ s ahead of the decider's clock/);
    expect(jump?.state.prevRequested).toBeNull();
  });

  it('is left to rule 1 (ignored) when it is a redelivery, a reordering within the tolerance, or read before the last one', () => {
    const state = after(600);
    // The same instant: a redelivery, whatever the clocks.
    expect(clockWentBack(state, sample({ at: 600, walBytes: 2000 }), facts(600 + DAY_S))).toBeNull();
    // 30 s older, stored 10 s later: two collectors' clocks 40 s apart, or a retried publish.
    expect(clockWentBack(state, sample({ at: 570, walBytes: 2000 }), facts(610))).toBeNull();
    // Exactly at the tolerance: still a reordering.
    expect(clockWentBack(state, sample({ at: 600 - 290, walBytes: 2000 }), facts(610))).toBeNull();
    expect(clockWentBack(state, sample({ at: 600 - 291, walBytes: 2000 }), facts(610))).not.toBeNull();
    // Its WAL position is behind the last one's: it was read before it, and as a baseline it would count checkpoints twice.
    expect(clockWentBack(state, sample({ at: 660 - DAY_S, walBytes: 999 }), facts(660))).toBeNull();
    // A newer sample is none of this function's business.
    expect(clockWentBack(state, sample({ at: 660, walBytes: 2000 }), facts(660))).toBeNull();
    // Without the last sample's stored time (a state from before it was kept) nothing tells a jump.
    expect(clockWentBack(after(600, { lastSampleStoredAt: undefined }), sample({ at: 660 - DAY_S, walBytes: 2000 }), facts(660))).toBeNull();
    // No last sample at all: rule 2.
    expect(clockWentBack(baselined({ lastSampleAt: null }), sample({ at: 0 }), facts(0))).toBeNull();
  });

  it('without it, rule 1 would ignore the samples of a clock that went back until it caught up', () => {
    const state = after(600);
    const s = sample({ at: 660 - DAY_S, requested: 15, walBytes: 2000 });
    expect(evaluateOne(state, s).outcome.kind).toBe('ignored_old_sample');
  });
});

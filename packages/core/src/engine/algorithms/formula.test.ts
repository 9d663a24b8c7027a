import { assert, describe, expect, it } from 'vitest';
import { policy, sample } from '../../testing/builders.js';
import { ADAPTIVE_HEADROOM } from './adaptive.js';
import { formulaGrowth } from './formula.js';
import { percentileOf } from '../../percentile.js';
import { repeat, scenario, type Tick } from './sizing-scenario.js';
import type { GrowInput } from './types.js';
import { PEAK_HOLD_INTERVALS } from '../wal-rate.js';

/*
 * 32 MB, checkpoint_timeout 30 s, samples every 5 s (what WALRUS_SAMPLE_INTERVAL=5 gives).
 * A load of 10 MB/s needs 608 MB: 300 MB an interval is 18.75 segments of 16 MB, CheckPointSegments 20 = floor(38 / 1.9), 38 x 16 MB.
 */
const LOAD: Tick = { rate: 10 };
/** Each 30 s cycle: full-page images double the rate in the first 5 s after a checkpoint. */
const cycle = (mean: number): Tick[] => [{ rate: mean * 2 }, ...repeat(5, { rate: (mean * 6 - mean * 2) / 5 })];

describe.each(['adaptive', 'percentile'] as const)('algorithms - %s', (algorithm) => {
  it('algorithms - grows at the first sample of a new load, before any forced checkpoint (proactive)', () => {
    const r = scenario([LOAD], { policy: { algorithm } });
    expect(r.decisions[0]).toMatchObject({ action: 'increase', old_size_mb: 32, forced_checkpoints: 0 });
    expect(r.decisions[0]?.metadata).toMatchObject({ trigger: 'proactive', proactive: true, required_size_mb: 608 });
    expect(r.sizes.at(-1)).toBeGreaterThanOrEqual(608);
  });

  it('algorithms - with walrus.proactive_sizing off, waits for WAL-forced checkpoints, then sizes by the formula', () => {
    const quiet = scenario([LOAD, LOAD], { policy: { algorithm, proactiveSizing: 'off' } });
    expect(quiet.decisions).toEqual([]);
    const forced = scenario([LOAD, { rate: 10, requested: 3 }], { policy: { algorithm, proactiveSizing: 'off' } });
    expect(forced.decisions[0]).toMatchObject({ action: 'increase', forced_checkpoints: 3 });
    expect(forced.decisions[0]?.metadata).toMatchObject({ trigger: 'forced_checkpoints', wal_caused_checkpoints: 3, other_checkpoints: 0 });
  });

  it('algorithms - a storm of manual CHECKPOINTs does not grow max_wal_size, and says why', () => {
    const storm = repeat(6, { rate: 0.01, requested: 10, redoAdvance: 50_000 });
    const r = scenario(storm, { policy: { algorithm, threshold: 1, minSizeMb: 1024 }, startMb: 1024 });
    expect(r.decisions.filter((d) => d.action === 'increase')).toEqual([]);
    const last = r.results.at(-1);
    assert(last);
    expect(last.outcome.kind).toBe('no_change');
    expect(last.outcome.reason).toContain('at most 0 of 10 requested checkpoints were caused by WAL volume');
    // multiplicative, fed the same samples, grows at once: the storm is real.
    const m = scenario(storm, { policy: { algorithm: 'multiplicative', threshold: 1 }, startMb: 1024 });
    expect(m.decisions[0]).toMatchObject({ action: 'capped', new_size_mb: 4096, metadata: { multiplier: 11 } });
  });

  it('algorithms - settles within the band under a steady load with full-page-image cycles, without flapping', () => {
    const r = scenario([...repeat(1, LOAD), ...Array.from({ length: 10 }, () => cycle(10)).flat()], { policy: { algorithm } });
    const last = r.sizes.at(-1);
    assert(last !== undefined);
    expect(last).toBeGreaterThanOrEqual(608);
    expect(last).toBeLessThanOrEqual(608 * 1.5);
    // one growth at the onset, at most one shrink once whole intervals are measured
    expect(r.decisions.filter((d) => d.action === 'increase')).toHaveLength(1);
    expect(r.decisions.filter((d) => d.action === 'decrease').length).toBeLessThanOrEqual(1);
  });

  it('algorithms - the shared rules still hold: walrus.max caps, dry run executes nothing, the floor holds', () => {
    const capped = scenario([LOAD], { policy: { algorithm, maxMb: 256 } });
    expect(capped.decisions[0]).toMatchObject({ action: 'capped', new_size_mb: 256 });
    // dry run: the size stays, so WAL keeps forcing checkpoints and the decision is repeated
    const dry = scenario([LOAD, { rate: 10, requested: 3 }], { policy: { algorithm, dryRun: true } });
    expect(dry.decisions.map((d) => d.action)).toEqual(['dry_run', 'dry_run']);
    expect(dry.sizes.at(-1)).toBe(32);
    const limited = scenario([LOAD, { rate: 40 }], { policy: { algorithm, cooldownSec: 300 } });
    expect(limited.decisions.map((d) => d.action)).toEqual(['increase', 'skipped']);
    expect(limited.decisions[1]?.metadata).toMatchObject({ blocked_by: 'cooldown' });
  });
});

describe('algorithms - adaptive shrinking', () => {
  const burstThenQuiet = (algorithm: 'adaptive' | 'percentile', extra = {}) =>
    scenario([...repeat(24, LOAD), ...repeat(150, { rate: 0 })], { policy: { algorithm, ...extra } });

  it('algorithms - shrinks towards the formula once the load goes, never below walrus.min_size', () => {
    const r = burstThenQuiet('adaptive', { minSizeMb: 64 });
    const shrinks = r.decisions.filter((d) => d.action === 'decrease');
    expect(shrinks.length).toBeGreaterThan(0);
    expect(shrinks[0]?.metadata).toMatchObject({ shrink_band: 1.5, headroom: ADAPTIVE_HEADROOM });
    expect(r.sizes.at(-1)).toBeLessThan(200);
    expect(Math.min(...r.sizes.slice(1))).toBeGreaterThanOrEqual(64);
    // no growth while quiet
    expect(r.decisions.filter((d) => d.action === 'increase')).toHaveLength(1);
  });

  it('algorithms - no shrink on an estimate from intervals with forced checkpoints: it waits for a calm one', () => {
    // The first interval mixes idle time and forced checkpoints at the load's start: 10 MB/s for 10 s of 30.
    const onset: Tick[] = [...repeat(4, { rate: 0 }), { rate: 10, requested: 3 }, { rate: 10, requested: 1 }];
    const r = scenario([...onset, ...repeat(18, LOAD)], { policy: { algorithm: 'adaptive', shrinkIntervals: 2 } });
    const grownAt = r.results.findIndex((x) => x.decision?.action === 'increase');
    expect(grownAt).toBe(5);
    // The window closing at 30 s says 3.3 MB/s, but it had forced checkpoints: no shrink on it.
    expect(r.decisions.filter((d) => d.action === 'decrease')).toEqual([]);
    expect(r.sizes.at(-1)).toBeGreaterThanOrEqual(608);
  });

  it('algorithms - walrus.shrink_enable off keeps the size', () => {
    const r = burstThenQuiet('adaptive', { shrinkEnable: false });
    expect(r.decisions.filter((d) => d.action === 'decrease')).toEqual([]);
  });

  it('algorithms - shrinking waits for walrus.shrink_intervals quiet intervals', () => {
    const r = burstThenQuiet('adaptive', { shrinkIntervals: 30 });
    const firstShrink = r.results.findIndex((x) => x.decision?.action === 'decrease');
    expect(firstShrink).toBeGreaterThanOrEqual(30);
  });

  it('algorithms - percentile holds the peak for the peak hold, then its window starts over from the quiet rate', () => {
    const r = burstThenQuiet('percentile');
    // The load ends at 120 s; the sliding rate falls below half the peak at 135 s and the hold (4 x 30 s) runs from there.
    const shrinkAt = r.results.findIndex((x) => x.decision?.action === 'decrease');
    expect(shrinkAt * 5).toBeGreaterThanOrEqual(135 + PEAK_HOLD_INTERVALS * 30);
    expect(r.decisions.filter((d) => d.action === 'decrease')).toHaveLength(1);
    expect(r.sizes.at(-1)).toBeLessThan(100);
  });
});

describe('algorithms - percentile', () => {
  it('algorithms - nearest-rank percentile', () => {
    expect(percentileOf([], 95)).toBeNull();
    expect(percentileOf([3, 1, 2], 50)).toBe(2);
    expect(percentileOf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentileOf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentileOf([5], 1)).toBe(5);
  });
});

describe('algorithms - proactive sizing for multiplicative and additive', () => {
  it('algorithms - off by default (auto): multiplicative waits for forced checkpoints', () => {
    expect(scenario([LOAD, LOAD], { policy: { algorithm: 'multiplicative' } }).decisions).toEqual([]);
  });

  it('algorithms - on: grows to the formula size before a forced checkpoint', () => {
    const r = scenario([LOAD], { policy: { algorithm: 'additive', proactiveSizing: 'on' } });
    expect(r.decisions[0]).toMatchObject({ action: 'increase', forced_checkpoints: 0, algorithm: 'additive' });
    expect(r.decisions[0]?.metadata).toMatchObject({ proactive: true, required_size_mb: 608 });
  });

  it('algorithms - on: forced checkpoints still take the algorithm\'s own rule', () => {
    const r = scenario([{ rate: 0.1, requested: 3 }], { policy: { algorithm: 'multiplicative', proactiveSizing: 'on' }, startMb: 1024 });
    expect(r.decisions[0]).toMatchObject({ action: 'increase', new_size_mb: 4096, metadata: { multiplier: 4 } });
  });
});

describe('algorithms - the early projection needs a new load, not a full-page-image burst', () => {
  const MB = 1024 * 1024;
  const input = (lastWholeMbPerSec: number | null): GrowInput => ({
    currentMb: 1024,
    delta: 0,
    threshold: 2,
    sample: sample({ size: 1024, timeout: 30 }),
    previous: null,
    policy: policy({ algorithm: 'adaptive' }),
    state: undefined,
    wal: {
      // 30 MB/s in the last sample interval: 900 MB = 56.25 segments, CheckPointSegments 58 = floor(111 / 1.9), 1776 MB, more than 1.5 x 1024
      rate: {
        windowAt: '2025-01-01T00:00:00.000Z',
        windowWalBytes: 0,
        intervals: lastWholeMbPerSec === null ? [] : [lastWholeMbPerSec * MB],
        ema: null,
        lastRate: 30 * MB,
        redoBytes: null,
        sizeMb: 1024,
      },
      causes: { requested: 0, walCaused: 0, other: 0, pending: 0, basis: 'redo_distance', reason: '' },
      proactive: true,
    },
  });
  const none = { rate: null, label: 'x', headroom: 1.2, metadata: {} };

  it('algorithms - twice the last whole interval (full-page images after a checkpoint) grows nothing', () => {
    expect(formulaGrowth(input(15), none)).toBeNull();
  });

  it('algorithms - three times it, or nothing measured yet, is a new load: it grows at once', () => {
    expect(formulaGrowth(input(9), none)).toMatchObject({ metadata: { trigger: 'proactive', required_size_mb: 1776 } });
    expect(formulaGrowth(input(null), none)).toMatchObject({ calculatedMb: Math.ceil(1776 * 1.2) });
  });
});

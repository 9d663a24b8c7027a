import { describe, expect, it } from 'vitest';
import { isExecutable } from '../../schemas.js';
import { shrinkTarget } from '../shrink.js';
import { repeat, scenario, type Tick } from './sizing-scenario.js';

/*
 * Issue 25 item 5: multiplicative and additive count forced checkpoints over
 * the last checkpoint_timeout, as pg_walrus counts per checkpoint_timeout,
 * however often walrus samples. checkpoint_timeout 30 s throughout.
 */
const quiet = (n: number, dt = 5): Tick[] => repeat(n, { rate: 0.01, dt });
const forced = (n = 1, dt = 5): Tick => ({ rate: 0.01, dt, requested: n });

describe('counted checkpoints - multiplicative and additive count over the last checkpoint_timeout', () => {
  it('counted checkpoints - 5 s samples, 32 MB, threshold 2: forced checkpoints one per sample interval grow it (pg_walrus counting 30 s would)', () => {
    // The run of issue 25: no 5-second interval holds 2 of them, 30 s do.
    const ticks = [...quiet(6), forced(), ...quiet(1), forced(), ...quiet(2), forced(), forced()];
    const r = scenario(ticks, { policy: { algorithm: 'multiplicative', threshold: 2, shrinkEnable: false }, startMb: 32 });
    expect(r.decisions[0]).toMatchObject({ action: 'increase', old_size_mb: 32, new_size_mb: 96, forced_checkpoints: 1 });
    expect(r.decisions[0]?.metadata).toMatchObject({ delta: 1, counted_checkpoints: 2, multiplier: 3 });
    expect(r.decisions[0]?.reason).toBe('2 forced checkpoints over the last checkpoint_timeout (1 in this sample interval) (threshold 2): 32 MB x 3 = 96 MB');
    // Each counted once toward a growth: the two after it start a new count at 96 MB, and grow it once more.
    expect(r.decisions.map((d) => [d.action, d.new_size_mb])).toEqual([
      ['increase', 96],
      ['increase', 288],
    ]);
  });

  it('counted checkpoints - forced checkpoints more than a checkpoint_timeout apart are not added up', () => {
    const ticks = [...quiet(6), forced(), ...quiet(6), forced(), ...quiet(6), forced()];
    const r = scenario(ticks, { policy: { algorithm: 'multiplicative', threshold: 2, shrinkEnable: false }, startMb: 32 });
    expect(r.decisions).toEqual([]);
  });

  it('counted checkpoints - a checkpoint counted toward a growth does not count again toward the next', () => {
    const ticks = [...quiet(6), forced(2), forced(), ...quiet(3)];
    const r = scenario(ticks, { policy: { algorithm: 'multiplicative', threshold: 2, shrinkEnable: false }, startMb: 64 });
    expect(r.decisions.map((d) => d.action)).toEqual(['increase']);
    expect(r.results.at(-4)?.outcome.reason).toContain('quiet interval');
  });

  it('counted checkpoints - samples without a new forced checkpoint do not repeat a growth held back by the cooldown', () => {
    const ticks = [...quiet(6), forced(3), forced(), ...quiet(4), forced(), ...quiet(3)];
    const r = scenario(ticks, { policy: { algorithm: 'multiplicative', threshold: 2, cooldownSec: 3600, shrinkEnable: false }, startMb: 64 });
    // One growth, then the new checkpoint brings the count to 2 at the new size: held back; the quiet samples after it say nothing.
    expect(r.decisions.map((d) => d.action)).toEqual(['increase', 'skipped']);
  });

  it('counted checkpoints - checkpoints counted while the cluster still ran the size walrus grew from do not count at the new size', () => {
    // A growth decided at 1 s samples, in force only 3 samples later (samples published late after a broker
    // outage): the checkpoints of those samples were forced at 32 MB. Then a shutdown checkpoint at the new size.
    const ticks = [...quiet(6, 1), forced(3, 1), forced(1, 1), forced(1, 1), ...quiet(3, 1), forced(1, 1), ...quiet(2, 1)];
    const r = scenario(ticks, { policy: { algorithm: 'multiplicative', threshold: 3, shrinkEnable: false }, startMb: 32, applyAfterSamples: 3 });
    expect(r.decisions.map((d) => [d.action, d.new_size_mb])).toEqual([['increase', 128]]);
    // Applied at once, the same checkpoints count at the new size, as pg_walrus counts its interval.
    const now = scenario(ticks, { policy: { algorithm: 'multiplicative', threshold: 3, shrinkEnable: false }, startMb: 32 });
    expect(now.decisions.map((d) => [d.action, d.new_size_mb])).toEqual([
      ['increase', 128],
      ['increase', 512],
    ]);
  });

  it('counted checkpoints - additive adds the increment per checkpoint counted over the last checkpoint_timeout', () => {
    const ticks = [...quiet(6), forced(), ...quiet(2), forced()];
    const r = scenario(ticks, { policy: { algorithm: 'additive', threshold: 2, additiveIncrementMb: 100, shrinkEnable: false }, startMb: 64 });
    expect(r.decisions[0]).toMatchObject({ action: 'increase', new_size_mb: 264 });
    expect(r.decisions[0]?.metadata).toMatchObject({ counted_checkpoints: 2, additive_increment_mb: 100 });
  });

  it('counted checkpoints - sampling more often never reacts later: the same checkpoints at 1 s, 5 s and 30 s samples', () => {
    // One forced checkpoint every 10 s from t = 60 s on.
    const at = (step: number): Tick[] =>
      Array.from({ length: 150 / step }, (_, i) => {
        const t1 = (i + 1) * step;
        const n = Array.from({ length: step }, (_x, k) => t1 - k).filter((t) => t > 60 && t % 10 === 0).length;
        return { rate: 0.01, dt: step, ...(n > 0 ? { requested: n } : {}) };
      });
    const firstGrowthSec = (step: number): number => {
      const r = scenario(at(step), { policy: { algorithm: 'multiplicative', threshold: 2, shrinkEnable: false }, startMb: 64, step });
      const i = r.results.findIndex((x) => x.decision?.action === 'increase');
      return i * step;
    };
    expect(firstGrowthSec(30)).toBe(90);
    expect(firstGrowthSec(5)).toBe(80);
    expect(firstGrowthSec(1)).toBe(80);
  });
});

/** pg_walrus's rules, one call per checkpoint_timeout: the reference the engine must match at that interval. */
function pgWalrus(deltas: number[], p: { threshold: number; maxMb: number; minMb: number; shrinkIntervals: number; shrinkFactor: number }, startMb: number): number[] {
  let size = startMb;
  let quiet = 0;
  return deltas.map((delta) => {
    if (delta >= p.threshold) {
      quiet = 0;
      size = Math.max(size, Math.min(size * (delta + 1), p.maxMb));
    } else {
      quiet += 1;
      if (quiet >= p.shrinkIntervals && size > p.minMb) {
        const { targetMb } = shrinkTarget(size, p.shrinkFactor, p.minMb);
        if (targetMb < size) {
          size = targetMb;
          quiet = 0;
        }
      }
    }
    return size;
  });
}

describe('counted checkpoints - at pg_walrus own interval the decisions are exactly its', () => {
  const p = { threshold: 2, maxMb: 4096, minMb: 32, shrinkIntervals: 3, shrinkFactor: 0.75 };
  const deltas = [0, 2, 1, 1, 0, 0, 0, 3, 0, 1, 2, 0, 0, 0, 0, 0, 5, 1, 0, 0, 4, 4, 0, 0, 0, 0, 0, 0];
  for (const algorithm of ['multiplicative'] as const) {
    it.each([
      ['exactly every checkpoint_timeout', () => 30],
      ['a little early or late (timer jitter)', (i: number) => (i % 3 === 0 ? 28 : i % 3 === 1 ? 33 : 29)],
    ])(`counted checkpoints - ${algorithm}, samples %s`, (_name, dt) => {
      const ticks: Tick[] = deltas.map((requested, i) => ({ rate: 0.01, dt: dt(i), requested }));
      const r = scenario(ticks, {
        policy: { algorithm, threshold: p.threshold, maxMb: p.maxMb, minSizeMb: p.minMb, shrinkIntervals: p.shrinkIntervals, shrinkFactor: p.shrinkFactor },
        startMb: 64,
        // No redo points, as pg_walrus sees it: every requested checkpoint may be WAL's (with redo points saying
        // they were not, a growth that did not reduce them holds the next one back: effect.ts, not pg_walrus's rule).
        redo: false,
      });
      // result 0 is the baseline
      expect(r.sizes.slice(1)).toEqual(pgWalrus(deltas, p, 64));
      const grown = r.decisions.filter((d) => isExecutable(d.action) && d.action !== 'decrease');
      for (const d of grown) expect(d.metadata).not.toHaveProperty('counted_checkpoints');
    });
  }
});

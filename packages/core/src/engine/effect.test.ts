import { assert, describe, expect, it } from 'vitest';
import { EffectV1 } from '../effect-schemas.js';
import { repeat, scenario, type Tick } from './algorithms/sizing-scenario.js';
import { activeHold } from './effect.js';
import { MB } from './wal-rate.js';

/*
 * Issue 25 item 4 on a simulated cluster: checkpoint_timeout 30 s, a sample
 * every 5 s, walrus.effect_intervals 2 (a 60 s span before and after).
 */
const judged = (r: ReturnType<typeof scenario>) => r.results.flatMap((x) => x.effects ?? []);

describe('effect - every change checked for its effect', () => {
  it('effect - a growth that stopped WAL-forced checkpoints is judged helped, 60 s after it is in force, with both spans', () => {
    // 4 MB/s at 32 MB: PostgreSQL forces checkpoints (walForces) until multiplicative grows enough.
    const r = scenario([...repeat(12, { rate: 0.01 }), ...repeat(60, { rate: 4 })], {
      policy: { algorithm: 'multiplicative', maxMb: 8192, cooldownSec: 120, shrinkEnable: false },
      walForces: true,
    });
    const effects = judged(r);
    expect(effects.length).toBeGreaterThan(0);
    const last = effects.at(-1);
    assert(last);
    expect(EffectV1.parse(last)).toEqual(last);
    expect(last).toMatchObject({ action: 'increase', cause: 'forced_checkpoints', verdict: 'helped', flag: null, holds_next_growth: false });
    expect(last.before.forced_checkpoints).toBeGreaterThan(0);
    expect(last.after.forced_checkpoints).toBe(0);
    expect(last.after.seconds).toBeGreaterThanOrEqual(60);
    expect(last.after.wal_bytes_per_second).toBeCloseTo(4 * MB, -4);
    // judged once, at the first sample a whole span after the size was in force
    const decision = r.decisions.find((d) => d.id === last.decision_id);
    assert(decision);
    expect(Date.parse(last.judged_at) - Date.parse(last.in_force_at)).toBeGreaterThanOrEqual(60_000);
    expect(Date.parse(last.judged_at) - Date.parse(last.in_force_at)).toBeLessThan(65_000);
    expect(effects.filter((e) => e.decision_id === last.decision_id)).toHaveLength(1);
  });

  it('effect - a growth followed by CHECKPOINT commands that keep coming is flagged forced_elsewhere, and the next growth for that cause is held back', () => {
    // 2 requested checkpoints per 5 s sample, the redo point moving 1 MB each: not WAL volume's doing.
    const storm: Tick = { rate: 0.2, requested: 2, redoAdvance: 1 * MB };
    const r = scenario([...repeat(6, { rate: 0.2 }), ...repeat(40, storm)], {
      policy: { algorithm: 'multiplicative', maxMb: 65536, cooldownSec: 120, shrinkEnable: false },
      startMb: 64,
    });
    const [first] = r.decisions;
    expect(first).toMatchObject({ action: 'increase', old_size_mb: 64, new_size_mb: 192 });
    const flagged = judged(r).find((e) => e.decision_id === first?.id);
    expect(flagged).toMatchObject({ verdict: 'not_helped', flag: 'forced_elsewhere', holds_next_growth: true });
    expect(flagged?.reason).toContain('not caused by WAL volume');
    expect(flagged?.after.other_per_hour).toBeGreaterThan(0);
    // after the judgement, growth for forced checkpoints is held back, named so
    const after = r.decisions.filter((d) => Date.parse(d.sample_at) >= Date.parse(flagged?.judged_at ?? ''));
    expect(after.length).toBeGreaterThan(0);
    for (const d of after) {
      expect(d).toMatchObject({ action: 'skipped', metadata: { blocked_by: 'no_effect', no_effect_flag: 'forced_elsewhere', held_by_decision: first?.id } });
      expect(d.reason).toContain('held back: the last growth for forced_checkpoints');
    }
    // no executed change after the first one
    expect(r.decisions.filter((d) => d.action !== 'skipped')).toEqual([first]);
    expect(r.sizes.at(-1)).toBe(192);
  });

  it('effect - without redo points to tell causes, checkpoints that keep coming are not blamed elsewhere: pg_walrus grows on', () => {
    const storm: Tick = { rate: 0.2, requested: 2 };
    const r = scenario([...repeat(6, { rate: 0.2 }), ...repeat(40, storm)], { policy: { algorithm: 'multiplicative', maxMb: 65536, cooldownSec: 120, shrinkEnable: false }, startMb: 64, redo: false });
    expect(r.decisions.filter((d) => d.metadata['blocked_by'] === 'no_effect')).toEqual([]);
    expect(r.decisions.filter((d) => d.action === 'increase').length).toBeGreaterThan(1);
  });

  it('effect - the hold ends once a whole span passes without requested checkpoints', () => {
    const storm: Tick = { rate: 0.2, requested: 2, redoAdvance: 1 * MB };
    const r = scenario([...repeat(6, { rate: 0.2 }), ...repeat(30, storm), ...repeat(14, { rate: 0.2 })], {
      policy: { algorithm: 'multiplicative', maxMb: 65536, cooldownSec: 120, shrinkEnable: false },
      startMb: 64,
    });
    expect(r.results.some((x) => x.state.effect?.hold)).toBe(true);
    expect(r.state.effect?.hold).toBeNull();
  });

  it('effect - a growth capped at walrus.max under WAL that keeps forcing checkpoints is flagged cap_hit', () => {
    const r = scenario([...repeat(6, { rate: 0.01 }), ...repeat(40, { rate: 10 })], { policy: { algorithm: 'multiplicative', maxMb: 100, cooldownSec: 60, shrinkEnable: false }, walForces: true });
    const capped = r.decisions.find((d) => d.action === 'capped');
    assert(capped);
    expect(judged(r).find((e) => e.decision_id === capped.id)).toMatchObject({ verdict: 'not_helped', flag: 'cap_hit', holds_next_growth: true });
    expect(r.state.effect?.hold).toMatchObject({ flag: 'cap_hit', capMb: 100 });
    // walrus.max raised afterwards: a growth above the old cap is not held back, one to it still is.
    const at = Date.parse(r.state.lastSampleAt ?? '');
    expect(activeHold(r.state.effect, 'forced_checkpoints', at, 100)).not.toBeNull();
    expect(activeHold(r.state.effect, 'forced_checkpoints', at, 400)).toBeNull();
    expect(activeHold(r.state.effect, 'proactive', at, 100)).toBeNull();
  });

  it('effect - a shrink is judged too: held when no checkpoint was forced after it', () => {
    const r = scenario([...repeat(30, { rate: 0.01 })], { policy: { algorithm: 'multiplicative', shrinkIntervals: 2, minSizeMb: 32, cooldownSec: 120 }, startMb: 1024 });
    const shrink = r.decisions.find((d) => d.action === 'decrease');
    assert(shrink);
    const e = judged(r).find((x) => x.decision_id === shrink.id);
    expect(e).toMatchObject({ action: 'decrease', cause: 'shrink', verdict: 'shrink_held', holds_next_growth: false });
  });

  it('effect - checkpoint write and sync time and full-page images per transaction are compared when the samples carry them', () => {
    const r = scenario([...repeat(12, { rate: 0.01 }), ...repeat(60, { rate: 4 })], {
      policy: { algorithm: 'multiplicative', maxMb: 8192, cooldownSec: 120, shrinkEnable: false },
      walForces: true,
      extra: (t) => ({ checkpoint_write_time_ms: t * 10, checkpoint_sync_time_ms: t, wal_fpi: t * 4, xact_commit: t * 100 }),
    });
    const e = judged(r).at(-1);
    assert(e);
    expect(e.after.checkpoint_write_ms).toBeCloseTo(e.after.seconds * 10);
    expect(e.after.checkpoint_sync_ms).toBeCloseTo(e.after.seconds);
    expect(e.after.fpi_per_transaction).toBe(0.04);
    expect(e.after.transactions).toBe(e.after.seconds * 100);
    // without them: null, never a made-up 0
    const plain = judged(scenario([...repeat(12, { rate: 0.01 }), ...repeat(60, { rate: 4 })], { policy: { algorithm: 'multiplicative', maxMb: 8192, cooldownSec: 120, shrinkEnable: false }, walForces: true })).at(-1);
    expect(plain?.after).toMatchObject({ checkpoint_write_ms: null, checkpoint_sync_ms: null, fpi_per_transaction: null, transactions: null });
  });
});

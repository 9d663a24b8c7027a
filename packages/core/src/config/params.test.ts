import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, PARAM_LIST, PARAMS, WALRUS_PARAM_NAMES } from './params.js';

describe('params - registry', () => {
  it('params - lists every walrus.* parameter of the contract, in its order', () => {
    expect(WALRUS_PARAM_NAMES).toEqual([
      'walrus.enable',
      'walrus.max',
      'walrus.threshold',
      'walrus.shrink_enable',
      'walrus.shrink_factor',
      'walrus.shrink_intervals',
      'walrus.min_size',
      'walrus.history_retention_days',
      'walrus.dry_run',
      'walrus.cooldown_sec',
      'walrus.max_changes_per_hour',
      'walrus.algorithm',
      'walrus.notify_channel',
      'walrus.additive_increment_mb',
      'walrus.ema_alpha',
      'walrus.target_percentile',
      'walrus.proactive_sizing',
      'walrus.wal_disk_budget',
      'walrus.recurring_period_sec',
      'walrus.effect_intervals',
      'walrus.bound_slots',
      'walrus.slot_grace_sec',
      'walrus.forecast_horizon_sec',
      'walrus.profiles',
    ]);
  });

  it('params - each default as written parses to DEFAULT_POLICY', () => {
    for (const spec of PARAM_LIST) {
      expect(spec.parse(spec.defaultText), spec.name).toEqual({ ok: true, value: DEFAULT_POLICY[spec.key] });
    }
  });

  it('params - the contract defaults', () => {
    expect(DEFAULT_POLICY).toEqual({
      enable: true,
      maxMb: 4096,
      threshold: 2,
      shrinkEnable: true,
      shrinkFactor: 0.75,
      shrinkIntervals: 5,
      minSizeMb: 1024,
      historyRetentionDays: 7,
      dryRun: false,
      cooldownSec: 300,
      maxChangesPerHour: 4,
      algorithm: 'multiplicative',
      notifyChannel: 'walrus_events',
      additiveIncrementMb: 512,
      emaAlpha: 0.2,
      targetPercentile: 95,
      proactiveSizing: 'auto',
      walDiskBudgetMb: null,
      recurringPeriodSec: 86400,
      effectIntervals: 2,
      boundSlots: false,
      slotGraceSec: 600,
      forecastHorizonSec: 21600,
      profiles: [],
    });
  });

  it('params - sizes use max_wal_size limits', () => {
    expect(PARAMS.maxMb.parse('16GB')).toEqual({ ok: true, value: 16384 });
    expect(PARAMS.maxMb.parse('1MB').ok).toBe(false);
    expect(PARAMS.minSizeMb.parse('2MB')).toEqual({ ok: true, value: 2 });
    expect(PARAMS.maxMb.allowed).toBe('2MB .. 2147483647MB; units B, kB, MB, GB, TB; bare number = MB');
  });

  it('params - ranges of the contract are enforced at both ends', () => {
    const cases: [keyof typeof PARAMS, string, boolean][] = [
      ['threshold', '1', true],
      ['recurringPeriodSec', '0', true],
      ['recurringPeriodSec', '59', false],
      ['recurringPeriodSec', '60', true],
      ['recurringPeriodSec', '604800', true],
      ['recurringPeriodSec', '604801', false],
      ['effectIntervals', '0', false],
      ['effectIntervals', '100', true],
      ['threshold', '1000', true],
      ['threshold', '0', false],
      ['shrinkIntervals', '1001', false],
      ['historyRetentionDays', '0', true],
      ['historyRetentionDays', '3651', false],
      ['cooldownSec', '86400', true],
      ['cooldownSec', '86401', false],
      ['maxChangesPerHour', '0', true],
      ['maxChangesPerHour', '-1', false],
      ['shrinkFactor', '0.005', false],
    ];
    for (const [key, text, ok] of cases) expect(PARAMS[key].parse(text).ok, `${key} = ${text}`).toBe(ok);
  });

  it('params - wal_disk_budget is off by default, a size like walrus.max, or off again', () => {
    expect(PARAMS.walDiskBudgetMb.parse('256MB')).toEqual({ ok: true, value: 256 });
    expect(PARAMS.walDiskBudgetMb.parse('1.5GB')).toEqual({ ok: true, value: 1536 });
    expect(PARAMS.walDiskBudgetMb.parse(' OFF ')).toEqual({ ok: true, value: null });
    expect(PARAMS.walDiskBudgetMb.parse('1MB').ok).toBe(false);
    expect(PARAMS.walDiskBudgetMb.parse('lots').ok).toBe(false);
    expect(PARAMS.walDiskBudgetMb.format(null)).toBe('off');
    expect(PARAMS.walDiskBudgetMb.format(2048)).toBe('2GB');
  });

  it('params - algorithm accepts an implemented name in any case', () => {
    expect(PARAMS.algorithm.parse('Multiplicative')).toEqual({ ok: true, value: 'multiplicative' });
  });

  it('params - algorithm accepts every contract name and refuses others', () => {
    expect(PARAMS.algorithm.parse('Adaptive')).toEqual({ ok: true, value: 'adaptive' });
    expect(PARAMS.algorithm.parse('fibonacci')).toEqual({ ok: false, error: 'unknown algorithm' });
    expect(PARAMS.algorithm.allowed).toBe('multiplicative, additive, adaptive, percentile');
  });

  it('params - notify_channel accepts empty (off) and lower-case identifiers only', () => {
    expect(PARAMS.notifyChannel.parse('')).toEqual({ ok: true, value: '' });
    expect(PARAMS.notifyChannel.parse('walrus_2')).toEqual({ ok: true, value: 'walrus_2' });
    expect(PARAMS.notifyChannel.parse('Walrus').ok).toBe(false);
    expect(PARAMS.notifyChannel.parse('2walrus').ok).toBe(false);
    expect(PARAMS.notifyChannel.parse('a'.repeat(64)).ok).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { envVarName, POLICY_ENV_VARS, policyFromEnv } from './env.js';
import { DEFAULT_POLICY } from './params.js';

describe('env - policyFromEnv', () => {
  it('env - no variables gives the contract defaults', () => {
    expect(policyFromEnv({})).toEqual({ ok: true, policy: DEFAULT_POLICY });
  });

  it('env - WALRUS_<NAME> variables set the service defaults', () => {
    const r = policyFromEnv({
      WALRUS_MAX: '16GB',
      WALRUS_SHRINK_ENABLE: 'off',
      WALRUS_COOLDOWN_SEC: '0',
      WALRUS_MAX_CHANGES_PER_HOUR: '10',
      WALRUS_NOTIFY_CHANNEL: '',
      WALRUS_CLUSTERS: 'a=postgres://x',
      PATH: '/usr/bin',
    });
    expect(r).toEqual({
      ok: true,
      policy: { ...DEFAULT_POLICY, maxMb: 16384, shrinkEnable: false, cooldownSec: 0, maxChangesPerHour: 10, notifyChannel: '' },
    });
  });

  it('env - every invalid variable is listed at once as NAME: what is wrong (got X, allowed Y)', () => {
    const r = policyFromEnv({
      WALRUS_MAX: '3000000GB',
      WALRUS_ENABLE: 'sometimes',
      WALRUS_THRESHOLD: '0',
      WALRUS_ALGORITHM: 'fibonacci',
      WALRUS_MIN_SIZE: '2GB',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      'WALRUS_ENABLE: not a boolean (got "sometimes", allowed on/off, true/false, yes/no, 1/0 (case-insensitive; unique prefixes such as t, f, y, n))',
      'WALRUS_MAX: 3072000000MB exceeds the integer range (got "3000000GB", allowed 2MB .. 2147483647MB; units B, kB, MB, GB, TB; bare number = MB)',
      'WALRUS_THRESHOLD: 0 is outside the valid range 1 .. 1000 (got "0", allowed integer 1 .. 1000 forced checkpoints per interval)',
      'WALRUS_ALGORITHM: unknown algorithm (got "fibonacci", allowed multiplicative, additive, adaptive, percentile)',
    ]);
  });

  it('env - WALRUS_WAL_DISK_BUDGET sets a budget; unset or empty means none', () => {
    expect(policyFromEnv({ WALRUS_WAL_DISK_BUDGET: '256MB' })).toEqual({ ok: true, policy: { ...DEFAULT_POLICY, walDiskBudgetMb: 256 } });
    expect(policyFromEnv({ WALRUS_WAL_DISK_BUDGET: '' })).toEqual({ ok: true, policy: DEFAULT_POLICY });
    expect(DEFAULT_POLICY.walDiskBudgetMb).toBeNull();
    expect(policyFromEnv({ WALRUS_WAL_DISK_BUDGET: 'half' })).toMatchObject({ ok: false, errors: [expect.stringMatching(/^WALRUS_WAL_DISK_BUDGET: .*\(got "half", allowed off \(no budget\), or 2MB/)] });
  });

  it('env - an empty variable counts as unset', () => {
    expect(policyFromEnv({ WALRUS_MAX: '', WALRUS_DRY_RUN: '' })).toEqual({ ok: true, policy: DEFAULT_POLICY });
  });
});

describe('env - POLICY_ENV_VARS', () => {
  it('env - names each parameter as WALRUS_ plus its upper-cased name', () => {
    expect(envVarName('walrus.max_changes_per_hour')).toBe('WALRUS_MAX_CHANGES_PER_HOUR');
    expect(POLICY_ENV_VARS.map((v) => v.name)).toEqual([
      'WALRUS_ENABLE',
      'WALRUS_MAX',
      'WALRUS_THRESHOLD',
      'WALRUS_SHRINK_ENABLE',
      'WALRUS_SHRINK_FACTOR',
      'WALRUS_SHRINK_INTERVALS',
      'WALRUS_MIN_SIZE',
      'WALRUS_HISTORY_RETENTION_DAYS',
      'WALRUS_DRY_RUN',
      'WALRUS_COOLDOWN_SEC',
      'WALRUS_MAX_CHANGES_PER_HOUR',
      'WALRUS_ALGORITHM',
      'WALRUS_NOTIFY_CHANNEL',
      'WALRUS_ADDITIVE_INCREMENT_MB',
      'WALRUS_EMA_ALPHA',
      'WALRUS_TARGET_PERCENTILE',
      'WALRUS_PROACTIVE_SIZING',
      'WALRUS_WAL_DISK_BUDGET',
      'WALRUS_RECURRING_PERIOD_SEC',
      'WALRUS_EFFECT_INTERVALS',
      'WALRUS_BOUND_SLOTS',
      'WALRUS_SLOT_GRACE_SEC',
      'WALRUS_FORECAST_HORIZON_SEC',
      'WALRUS_PROFILES',
    ]);
  });

  it('env - documents default, allowed values and purpose of each variable', () => {
    const max = POLICY_ENV_VARS.find((v) => v.name === 'WALRUS_MAX');
    expect(max).toMatchObject({ parameter: 'walrus.max', default: '4GB' });
    for (const v of POLICY_ENV_VARS) {
      expect(v.allowed.length, v.name).toBeGreaterThan(0);
      expect(v.description.length, v.name).toBeGreaterThan(0);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { resolvePolicy } from './overlay.js';
import { DEFAULT_POLICY } from './params.js';

describe('overlay - resolvePolicy', () => {
  it('overlay - valid cluster settings override the defaults', () => {
    const { policy, warnings } = resolvePolicy(DEFAULT_POLICY, {
      'walrus.max': '16GB',
      'walrus.shrink_enable': 'off',
      'walrus.cooldown_sec': '0',
      'walrus.shrink_factor': '0.5',
      'walrus.dry_run': 'yes',
      'walrus.algorithm': 'multiplicative',
    });
    expect(warnings).toEqual([]);
    expect(policy).toEqual({
      ...DEFAULT_POLICY,
      maxMb: 16384,
      shrinkEnable: false,
      cooldownSec: 0,
      shrinkFactor: 0.5,
      dryRun: true,
    });
  });

  it('overlay - an invalid value falls back to the default with a warning naming parameter, value and allowed', () => {
    const defaults = { ...DEFAULT_POLICY, maxMb: 8192 };
    const { policy, warnings } = resolvePolicy(defaults, { 'walrus.max': '16 gigs', 'walrus.threshold': '3' });
    expect(policy.maxMb).toBe(8192);
    expect(policy.threshold).toBe(3);
    expect(warnings).toHaveLength(1);
    const [w] = warnings;
    expect(w).toMatchObject({
      parameter: 'walrus.max',
      value: '16 gigs',
      allowed: '2MB .. 2147483647MB; units B, kB, MB, GB, TB; bare number = MB',
    });
    expect(w?.message).toBe(
      'walrus.max = "16 gigs" is invalid (unit "gigs" is not valid: valid units are B, kB, MB, GB, TB); ' +
        'allowed: 2MB .. 2147483647MB; units B, kB, MB, GB, TB; bare number = MB; using 8GB instead',
    );
  });

  it('overlay - walrus.wal_disk_budget: a cluster sets one, turns the service default off, or falls back with a warning', () => {
    expect(resolvePolicy(DEFAULT_POLICY, { 'walrus.wal_disk_budget': '20GB' })).toEqual({ policy: { ...DEFAULT_POLICY, walDiskBudgetMb: 20480 }, warnings: [] });
    const defaults = { ...DEFAULT_POLICY, walDiskBudgetMb: 8192 };
    expect(resolvePolicy(defaults, { 'walrus.wal_disk_budget': 'off' }).policy.walDiskBudgetMb).toBeNull();
    expect(resolvePolicy(defaults, { 'walrus.wal_disk_budget': '' }).policy.walDiskBudgetMb).toBe(8192);
    const bad = resolvePolicy(defaults, { 'walrus.wal_disk_budget': '80%' });
    expect(bad.policy.walDiskBudgetMb).toBe(8192);
    expect(bad.warnings).toHaveLength(1);
    expect(bad.warnings[0]?.message).toBe(
      'walrus.wal_disk_budget = "80%" is invalid (unit "%" is not valid: valid units are B, kB, MB, GB, TB); ' +
        'allowed: off (no budget), or 2MB .. 2147483647MB; units B, kB, MB, GB, TB; bare number = MB; using 8GB instead',
    );
  });

  it('overlay - every invalid value gets its own warning, in parameter order', () => {
    const { policy, warnings } = resolvePolicy(DEFAULT_POLICY, {
      'walrus.shrink_factor': '1.5',
      'walrus.enable': 'maybe',
    });
    expect(policy).toEqual(DEFAULT_POLICY);
    expect(warnings.map((w) => w.parameter)).toEqual(['walrus.enable', 'walrus.shrink_factor']);
    expect(warnings[1]?.message).toContain('"1.5"');
    expect(warnings[1]?.message).toContain('number 0.01 .. 0.99');
  });

  it('overlay - an unknown algorithm falls back with a warning', () => {
    const { policy, warnings } = resolvePolicy(DEFAULT_POLICY, { 'walrus.algorithm': 'fibonacci' });
    expect(policy.algorithm).toBe('multiplicative');
    expect(warnings[0]?.message).toContain('unknown algorithm');
  });

  it('overlay - an unknown walrus.* name warns, suggests the closest name, and changes nothing', () => {
    const { policy, warnings } = resolvePolicy(DEFAULT_POLICY, { 'walrus.maxx': '16GB' });
    expect(policy).toEqual(DEFAULT_POLICY);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.parameter).toBe('walrus.maxx');
    expect(warnings[0]?.value).toBe('16GB');
    expect(warnings[0]?.allowed).toContain('walrus.max,');
    expect(warnings[0]?.message).toBe(
      'walrus.maxx = "16GB" is not a walrus parameter and is ignored (did you mean walrus.max?)',
    );
  });

  it('overlay - an unknown name far from every known one gets no suggestion', () => {
    const { warnings } = resolvePolicy(DEFAULT_POLICY, { 'walrus.something_else': 'x' });
    expect(warnings[0]?.message).toBe('walrus.something_else = "x" is not a walrus parameter and is ignored');
  });

  it('overlay - names outside walrus.* are not ours and are ignored silently', () => {
    expect(resolvePolicy(DEFAULT_POLICY, { work_mem: '64MB' }).warnings).toEqual([]);
  });

  it('overlay - an empty notify_channel is valid and turns notifications off', () => {
    const { policy, warnings } = resolvePolicy(DEFAULT_POLICY, { 'walrus.notify_channel': '' });
    expect(warnings).toEqual([]);
    expect(policy.notifyChannel).toBe('');
  });

  it('overlay - an empty value of another parameter counts as not set', () => {
    const { policy, warnings } = resolvePolicy(DEFAULT_POLICY, { 'walrus.max': '', 'walrus.enable': ' ' });
    expect(warnings).toEqual([]);
    expect(policy).toEqual(DEFAULT_POLICY);
  });

  it('overlay - the defaults object is not modified', () => {
    const defaults = { ...DEFAULT_POLICY };
    resolvePolicy(defaults, { 'walrus.max': '16GB' });
    expect(defaults).toEqual(DEFAULT_POLICY);
  });
});

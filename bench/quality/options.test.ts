import { describe, expect, it } from 'vitest';
import { dailySchedule } from './daily.js';
import { parseOptions, scaled, UsageError } from './options.js';

describe('bench quality options', () => {
  it('options - every shape, adaptive only, full time and full speed by default', () => {
    const o = parseOptions([]);
    expect(o?.shapes).toEqual(['steady', 'oltp_write_only', 'oltp_read_write', 'bursts', 'storm', 'daily', 'create_index', 'vacuum_freeze', 'copy']);
    expect(o?.arms).toEqual(['adaptive']);
    expect(o?.timeScale).toBe(1);
    expect(o?.steadyRate).toBe(0);
    expect(o?.after).toBe(600);
    expect(o?.results).toBeNull();
    expect(parseOptions(['--steady-rate', '0.75'])?.steadyRate).toBe(0.75);
    expect(parseOptions(['--help'])).toBeNull();
  });

  it('options - one shape, several arms, a time scale', () => {
    const o = parseOptions(['--shape', 'daily', '--arms', 'none,oracle,percentile', '--scale-time', '0.2']);
    expect(o?.shapes).toEqual(['daily']);
    expect(o?.arms).toEqual(['none', 'oracle', 'percentile']);
    expect(o && scaled(o, 150)).toBe(30);
    expect(o && scaled(o, 2)).toBe(1);
    // Several shapes, in the run's own order whatever the order asked.
    expect(parseOptions(['--shape', 'copy,oltp_read_write,steady'])?.shapes).toEqual(['steady', 'oltp_read_write', 'copy']);
  });

  it('options - a bad option is a usage error naming it', () => {
    expect(() => parseOptions(['--shape', 'both'])).toThrow(UsageError);
    expect(() => parseOptions(['--shape', 'steady,vacuum'])).toThrow(/--shape: .* \(got vacuum\)/);
    expect(() => parseOptions(['--after', '0'])).toThrow(/--after/);
    expect(() => parseOptions(['--arms', 'adaptive,additive'])).toThrow(/--arms: unknown arm additive/);
    expect(() => parseOptions(['--scale-time', '0'])).toThrow(/--scale-time/);
    expect(() => parseOptions(['--steady-rate', '-1'])).toThrow(/--steady-rate/);
    expect(() => parseOptions(['--nope'])).toThrow(UsageError);
  });

  it('daily - quiet, a ramp up in six steps, the peak, a ramp down in three, quiet again: 10 minutes', () => {
    const o = parseOptions([]);
    if (!o) throw new Error('no options');
    const s = dailySchedule(o);
    expect(s.reduce((sum, step) => sum + step.seconds, 0)).toBe(600);
    expect(s.map((step) => step.rate)).toEqual([50, 82, 136, 224, 368, 607, 1000, null, 473, 224, 106, 50]);
    expect(s.map((step) => step.phase)).toEqual(['quiet', ...Array<string>(6).fill('ramp'), 'peak', ...Array<string>(3).fill('ramp down'), 'quiet again']);
  });
});

import { describe, expect, it } from 'vitest';
import { settingToMb, settingToSeconds } from './units.js';

describe('cluster sql - pg_settings units', () => {
  it('converts memory settings to whole MB', () => {
    expect(settingToMb('32', 'MB')).toBe(32);
    expect(settingToMb('1024', 'MB')).toBe(1024);
    expect(settingToMb('2147483647', 'MB')).toBe(2147483647);
    expect(settingToMb('4096', '8kB')).toBe(32);
    expect(settingToMb('2048', 'kB')).toBe(2);
    expect(settingToMb('1', 'GB')).toBe(1024);
    expect(settingToMb('1048575', 'B')).toBe(0);
  });

  it('converts time settings to whole seconds', () => {
    expect(settingToSeconds('30', 's')).toBe(30);
    expect(settingToSeconds('300', 's')).toBe(300);
    expect(settingToSeconds('5', 'min')).toBe(300);
    expect(settingToSeconds('30000', 'ms')).toBe(30);
    expect(settingToSeconds('1', 'd')).toBe(86400);
  });

  it('refuses units and values it does not understand', () => {
    expect(() => settingToMb('32', null, 'max_wal_size')).toThrow(/max_wal_size: unknown pg_settings unit null/);
    expect(() => settingToMb('32', 'pages')).toThrow(/unknown pg_settings unit/);
    expect(() => settingToSeconds('30', 'MB')).toThrow(/unknown pg_settings unit/);
    expect(() => settingToSeconds('', 's')).toThrow(/not a number/);
    expect(() => settingToMb('abc', 'MB')).toThrow(/not a number/);
  });
});

import { describe, expect, it } from 'vitest';
import { formatSizeMb, parseBool, parseInteger, parseReal, parseSizeMb, rint } from './units.js';

const value = <T>(r: { ok: true; value: T } | { ok: false; error: string }): T | string =>
  r.ok ? r.value : `error: ${r.error}`;

describe('units - parseSizeMb', () => {
  it.each([
    ['16GB', 16384],
    ['1TB', 1048576],
    ['1024kB', 1],
    ['512', 512],
    ['512MB', 512],
    [' 2 GB', 2048],
    ['16GB  ', 16384],
    ['1.5GB', 1536],
    ['0', 0],
    ['1e3MB', 1000],
    ['1048576B', 1],
  ])('size - %j is %d MB', (text, mb) => {
    expect(parseSizeMb(text)).toEqual({ ok: true, value: mb });
  });

  it('size - fractions of a MB round to nearest, ties to even, as PostgreSQL rint does', () => {
    expect(value(parseSizeMb('1500kB'))).toBe(1);
    expect(value(parseSizeMb('1600kB'))).toBe(2);
    expect(value(parseSizeMb('1536kB'))).toBe(2);
    expect(value(parseSizeMb('2560kB'))).toBe(2);
    expect(value(parseSizeMb('2.5'))).toBe(2);
    expect(value(parseSizeMb('3.5'))).toBe(4);
  });

  it('size - a negative size is out of range', () => {
    const r = parseSizeMb('-1');
    expect(r.ok).toBe(false);
    expect(value(r)).toContain('outside the valid range');
  });

  it('size - text that is not a number is refused', () => {
    expect(parseSizeMb('abc').ok).toBe(false);
    expect(parseSizeMb('').ok).toBe(false);
    expect(parseSizeMb('GB').ok).toBe(false);
  });

  it('size - more than a C int holds is refused', () => {
    expect(value(parseSizeMb('3000000GB'))).toContain('exceeds the integer range');
  });

  it('size - units are case-sensitive and the error says how to write them', () => {
    expect(value(parseSizeMb('16gb'))).toContain('write "GB"');
    expect(value(parseSizeMb('16KB'))).toContain('write "kB"');
  });

  it('size - an unknown unit or garbage after the unit is refused', () => {
    expect(value(parseSizeMb('16 gigs'))).toContain('valid units are B, kB, MB, GB, TB');
    expect(parseSizeMb('16 G B').ok).toBe(false);
    expect(parseSizeMb('16GB x').ok).toBe(false);
    expect(parseSizeMb('16GB16').ok).toBe(false);
  });

  it('size - the range given is enforced with the values in the message', () => {
    expect(value(parseSizeMb('1', { min: 2, max: 2147483647 }))).toBe(
      'error: 1MB is outside the valid range 2MB .. 2147483647MB',
    );
    expect(value(parseSizeMb('2', { min: 2, max: 2147483647 }))).toBe(2);
    expect(value(parseSizeMb('2147483647', { min: 2, max: 2147483647 }))).toBe(2147483647);
  });
});

describe('units - parseBool', () => {
  it.each([
    ['on', true],
    ['off', false],
    ['true', true],
    ['false', false],
    ['yes', true],
    ['no', false],
    ['1', true],
    ['0', false],
    ['ON', true],
    ['False', false],
    [' yes ', true],
    ['t', true],
    ['f', false],
    ['y', true],
    ['n', false],
    ['tru', true],
    ['of', false],
  ])('bool - %j is %s', (text, b) => {
    expect(parseBool(text)).toEqual({ ok: true, value: b });
  });

  it.each(['', 'o', 'onn', 'truthy', '2', '10', 'enable', 'nope'])('bool - %j is refused', (text) => {
    expect(parseBool(text).ok).toBe(false);
  });
});

describe('units - parseInteger', () => {
  it('int - accepts an integer with surrounding spaces', () => {
    expect(value(parseInteger(' 7 ', { min: 0, max: 10 }))).toBe(7);
  });

  it('int - a fraction rounds to nearest, ties to even, like PostgreSQL', () => {
    expect(value(parseInteger('2.5', { min: 0, max: 10 }))).toBe(2);
    expect(value(parseInteger('3.5', { min: 0, max: 10 }))).toBe(4);
    expect(value(parseInteger('2.6', { min: 0, max: 10 }))).toBe(3);
  });

  it('int - a unit or other trailing text is refused', () => {
    expect(value(parseInteger('5min', { min: 0, max: 86400 }))).toContain('no unit is allowed');
  });

  it('int - out of range names the range', () => {
    expect(value(parseInteger('1001', { min: 1, max: 1000 }))).toBe('error: 1001 is outside the valid range 1 .. 1000');
    expect(value(parseInteger('0', { min: 1, max: 1000 }))).toContain('outside the valid range');
  });

  it('int - not a number is refused', () => {
    expect(value(parseInteger('two', { min: 0, max: 10 }))).toBe('error: not a number');
  });
});

describe('units - parseReal', () => {
  it('real - accepts decimals, leading dots and exponents', () => {
    expect(value(parseReal('0.75', { min: 0.01, max: 0.99 }))).toBe(0.75);
    expect(value(parseReal('.5', { min: 0.01, max: 0.99 }))).toBe(0.5);
    expect(value(parseReal('1e-1', { min: 0.01, max: 0.99 }))).toBe(0.1);
  });

  it('real - bounds are inclusive and enforced', () => {
    expect(value(parseReal('0.01', { min: 0.01, max: 0.99 }))).toBe(0.01);
    expect(value(parseReal('0.99', { min: 0.01, max: 0.99 }))).toBe(0.99);
    expect(parseReal('1', { min: 0.01, max: 0.99 }).ok).toBe(false);
    expect(parseReal('0', { min: 0.01, max: 0.99 }).ok).toBe(false);
  });

  it('real - garbage is refused', () => {
    expect(parseReal('0.75x', { min: 0.01, max: 0.99 }).ok).toBe(false);
    expect(parseReal('NaN', { min: 0.01, max: 0.99 }).ok).toBe(false);
  });
});

describe('units - rint and formatSizeMb', () => {
  it('rint - rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 1.4, 1.6].map(rint)).toEqual([0, 2, 2, 0, -2, 1, 2]);
  });

  it('format - uses the largest unit that divides the size', () => {
    expect(formatSizeMb(4096)).toBe('4GB');
    expect(formatSizeMb(1048576)).toBe('1TB');
    expect(formatSizeMb(1536)).toBe('1536MB');
    expect(formatSizeMb(0)).toBe('0MB');
  });
});

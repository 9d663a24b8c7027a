import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolvePolicy } from './overlay.js';
import { DEFAULT_POLICY, PARAM_LIST } from './params.js';
import { INT_MAX, parseBool, parseSizeMb } from './units.js';

/** Strings that look like settings people write, plus anything at all. */
const settingText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.tuple(fc.oneof(fc.integer(), fc.double({ noNaN: false })), fc.constantFrom('', 'kB', 'MB', 'GB', 'TB', 'B', 'mb', ' MB', 'XB')).map(([n, u]) => `${n}${u}`),
  fc.constantFrom('on', 'off', 'true', 'false', 'yes', 'no', '1', '0', 'ON', ' t ', 'of', '', ' ', 'multiplicative', 'adaptive'),
);

describe('fuzz - size parsing', () => {
  it('fuzz - never throws; an accepted size is an integer MB within 2 .. INT_MAX', () => {
    fc.assert(
      fc.property(settingText, (text) => {
        // The range of walrus.max and walrus.min_size.
        const r = parseSizeMb(text, { min: 2, max: INT_MAX });
        if (r.ok) {
          expect(Number.isInteger(r.value)).toBe(true);
          expect(r.value).toBeGreaterThanOrEqual(2);
          expect(r.value).toBeLessThanOrEqual(INT_MAX);
        } else {
          expect(r.error).toEqual(expect.any(String));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('fuzz - n MB, n GB and bare n parse to what PostgreSQL would set', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: INT_MAX }), (n) => {
        expect(parseSizeMb(`${n}MB`)).toEqual({ ok: true, value: n });
        expect(parseSizeMb(String(n))).toEqual({ ok: true, value: n });
        const gb = Math.floor(n / 1024);
        if (gb >= 1) expect(parseSizeMb(`${gb}GB`)).toEqual({ ok: true, value: gb * 1024 });
      }),
    );
  });
});

describe('fuzz - boolean parsing', () => {
  it('fuzz - never throws; accepted words keep their meaning in any case and padding', () => {
    const words = fc.constantFrom(['on', true], ['off', false], ['true', true], ['false', false], ['yes', true], ['no', false], ['1', true], ['0', false]) as fc.Arbitrary<[string, boolean]>;
    fc.assert(
      fc.property(words, fc.boolean(), fc.stringMatching(/^[ \t]{0,3}$/), ([w, value], upper, pad) => {
        expect(parseBool(`${pad}${upper ? w.toUpperCase() : w}${pad}`)).toEqual({ ok: true, value });
      }),
    );
    fc.assert(
      fc.property(settingText, (text) => {
        const r = parseBool(text);
        expect(typeof (r.ok ? r.value : r.error)).toMatch(/boolean|string/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('fuzz - configuration overlay', () => {
  const names = fc.constantFrom(...PARAM_LIST.map((p) => p.name), 'walrus.unknown', 'walrus.', 'other.setting', 'walrus.max ');
  it('fuzz - never throws; an invalid value keeps the default and is named in a warning', () => {
    fc.assert(
      fc.property(fc.dictionary(names, settingText, { maxKeys: 8 }), (settings) => {
        const { policy, warnings } = resolvePolicy(DEFAULT_POLICY, settings);
        for (const spec of PARAM_LIST) {
          const text = settings[spec.name];
          if (text === undefined) {
            expect(policy[spec.key]).toEqual(DEFAULT_POLICY[spec.key]);
            continue;
          }
          const warned = warnings.some((w) => w.parameter === spec.name);
          if (warned) expect(policy[spec.key]).toEqual(DEFAULT_POLICY[spec.key]);
          const parsed = spec.parse(text);
          if (parsed.ok && !warned) expect(policy[spec.key]).toEqual(parsed.value);
        }
        for (const w of warnings) expect(w.message).toContain(w.parameter);
      }),
      { numRuns: 300 },
    );
  });
});

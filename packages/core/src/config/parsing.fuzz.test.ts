import fc from 'fast-check';
import { assert, describe, expect, it } from 'vitest';
import { isUnsetValue, resolvePolicy } from './overlay.js';
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

/*
 * PostgreSQL's parse_bool_with_len, written out as the set of texts it
 * accepts (after our trim and case folding): every prefix of true, false,
 * yes and no, "on", "of"/"off", "1" and "0". An independent oracle for
 * parseBool, which computes the same from a table.
 */
const TRUE_WORDS = new Set(['t', 'tr', 'tru', 'true', 'y', 'ye', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['f', 'fa', 'fal', 'fals', 'false', 'n', 'no', 'of', 'off', '0']);
function expectedBool(text: string): boolean | null {
  const t = text.trim().toLowerCase();
  if (TRUE_WORDS.has(t)) return true;
  if (FALSE_WORDS.has(t)) return false;
  return null;
}

/** Texts near the accepted words (prefixes, padding, case, a letter too many), plus anything. */
const boolText = fc.oneof(
  settingText,
  fc
    .tuple(
      fc.constantFrom('true', 'false', 'yes', 'no', 'on', 'off', '1', '0', 'o', 'ofx', 'yess', 'nope', '2', '01'),
      fc.nat({ max: 5 }),
      fc.boolean(),
      fc.stringMatching(/^[ \t]{0,2}$/),
    )
    .map(([w, cut, upper, pad]) => `${pad}${(upper ? w.toUpperCase() : w).slice(0, Math.max(1, w.length - cut))}${pad}`),
);

describe('fuzz - boolean parsing', () => {
  it('fuzz - never throws; accepted words keep their meaning in any case and padding', () => {
    const words = fc.constantFrom(['on', true], ['off', false], ['true', true], ['false', false], ['yes', true], ['no', false], ['1', true], ['0', false]) as fc.Arbitrary<[string, boolean]>;
    fc.assert(
      fc.property(words, fc.boolean(), fc.stringMatching(/^[ \t]{0,3}$/), ([w, value], upper, pad) => {
        expect(parseBool(`${pad}${upper ? w.toUpperCase() : w}${pad}`)).toEqual({ ok: true, value });
      }),
    );
  });

  it('fuzz - accepts exactly what PostgreSQL accepts, and refuses everything else with a reason', () => {
    fc.assert(
      fc.property(boolText, (text) => {
        const want = expectedBool(text);
        const r = parseBool(text);
        if (want === null) expect(r).toEqual({ ok: false, error: expect.stringMatching(/boolean/) });
        else expect(r).toEqual({ ok: true, value: want });
      }),
      { numRuns: 1000 },
    );
  });
});

describe('fuzz - configuration overlay', () => {
  const names = fc.constantFrom(...PARAM_LIST.map((p) => p.name), 'walrus.unknown', 'walrus.', 'other.setting', 'walrus.max ');
  it('fuzz - never throws; an invalid value keeps the default and is named in a warning', () => {
    fc.assert(
      fc.property(fc.dictionary(names, settingText, { maxKeys: 8 }), (settings) => {
        const { policy, warnings } = resolvePolicy(DEFAULT_POLICY, settings);
        let expectedWarnings = 0;
        for (const spec of PARAM_LIST) {
          const text = settings[spec.name];
          const mine = warnings.filter((w) => w.parameter === spec.name);
          if (text === undefined || isUnsetValue(spec, text)) {
            // Not set (or set to nothing): the default, silently.
            expect(mine).toEqual([]);
            expect(policy[spec.key]).toEqual(DEFAULT_POLICY[spec.key]);
            continue;
          }
          const parsed = spec.parse(text);
          if (parsed.ok) {
            expect(mine).toEqual([]);
            expect(policy[spec.key]).toEqual(parsed.value);
          } else {
            // Every invalid value warns, once, naming the parameter, the value and what is allowed.
            expectedWarnings++;
            expect(mine).toEqual([{ parameter: spec.name, value: text, allowed: spec.allowed, message: expect.any(String) }]);
            const [warning] = mine;
            assert(warning);
            expect(warning.message).toContain(spec.name);
            expect(warning.message).toContain(JSON.stringify(text));
            expect(warning.message).toContain(spec.allowed);
            expect(policy[spec.key]).toEqual(DEFAULT_POLICY[spec.key]);
          }
        }
        // Unknown walrus.* names are named too; names of other extensions are not ours.
        const unknown = Object.keys(settings).filter((n) => n.startsWith('walrus.') && !PARAM_LIST.some((p) => p.name === n));
        for (const n of unknown) expect(warnings.filter((w) => w.parameter === n)).toHaveLength(1);
        expect(warnings.some((w) => w.parameter === 'other.setting')).toBe(false);
        expect(warnings).toHaveLength(expectedWarnings + unknown.length);
      }),
      { numRuns: 300 },
    );
  });

  it('fuzz - a value out of its documented range always warns', () => {
    // Just past each numeric bound, as an operator might mistype it.
    const outside = fc.constantFrom(
      ['walrus.threshold', '0'],
      ['walrus.threshold', '1001'],
      ['walrus.shrink_factor', '1'],
      ['walrus.shrink_factor', '0.001'],
      ['walrus.shrink_intervals', '0'],
      ['walrus.max', '1MB'],
      ['walrus.max', '2147483648MB'],
      ['walrus.min_size', '1024kB'],
      ['walrus.history_retention_days', '-1'],
      ['walrus.history_retention_days', '3651'],
      ['walrus.cooldown_sec', '86401'],
      ['walrus.max_changes_per_hour', '1001'],
      ['walrus.ema_alpha', '0'],
      ['walrus.target_percentile', '101'],
      ['walrus.additive_increment_mb', '0'],
    ) as fc.Arbitrary<[string, string]>;
    fc.assert(
      fc.property(outside, fc.stringMatching(/^ ?$/), ([name, value], pad) => {
        const { warnings } = resolvePolicy(DEFAULT_POLICY, { [name]: `${pad}${value}${pad}` });
        expect(warnings.map((w) => w.parameter)).toEqual([name]);
      }),
    );
  });
});

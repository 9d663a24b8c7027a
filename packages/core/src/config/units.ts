/**
 * Parsers for the values of `walrus.*` parameters, following PostgreSQL's own
 * GUC parsing (src/backend/utils/misc/guc.c: parse_int, parse_real,
 * convert_to_base_unit, parse_bool_with_len). The per-cluster values reach us
 * as raw text because PostgreSQL keeps unknown `walrus.*` names as
 * placeholders and never validates them, so we must read them the way
 * pg_walrus (a real GUC) would have.
 *
 * Every parser returns a result instead of throwing: an invalid per-cluster
 * value must never stop anything, only fall back with a warning.
 */

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

export interface Range {
  min: number;
  max: number;
}

/** PostgreSQL integer parameters are C ints. */
export const INT_MAX = 2147483647;
export const INT_MIN = -2147483648;

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const fail = <T>(error: string): ParseResult<T> => ({ ok: false, error });

/**
 * Rounds half to even, like C's rint() in the default rounding mode, which is
 * what PostgreSQL uses to turn "1.5" or "1536kB" into an integer.
 */
export function rint(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/*
 * A decimal number, optionally with a fraction and an exponent, then the rest.
 * PostgreSQL also takes C's octal ("010" = 8) and hex ("0x10") integer forms;
 * we deliberately read every number as decimal, because nobody writing
 * walrus.threshold = '010' means 8.
 */
const NUMBER_PREFIX = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(.*)$/s;

interface SplitNumber {
  value: number;
  /** What followed the number, trimmed: a unit, garbage, or "". */
  rest: string;
}

function splitNumber(text: string): SplitNumber | null {
  const m = NUMBER_PREFIX.exec(text);
  if (!m || m[1] === undefined) return null;
  const value = Number(m[1]);
  if (!Number.isFinite(value)) return null;
  // PostgreSQL allows whitespace between the number and the unit, and after it.
  return { value, rest: (m[2] ?? '').trim() };
}

/**
 * Memory units for a parameter whose base unit is MB, largest first, as in
 * PostgreSQL's memory_unit_conversion_table. Unit names are case-sensitive
 * there ("kB", not "KB" or "kb"), so they are here.
 */
const MB_UNITS: readonly { unit: string; mb: number }[] = [
  { unit: 'TB', mb: 1024 * 1024 },
  { unit: 'GB', mb: 1024 },
  { unit: 'MB', mb: 1 },
  { unit: 'kB', mb: 1 / 1024 },
  { unit: 'B', mb: 1 / (1024 * 1024) },
];

export const SIZE_UNITS_TEXT = 'B, kB, MB, GB, TB';

/** Default range of a size: anything a C int can hold that is not negative. */
const SIZE_RANGE: Range = { min: 0, max: INT_MAX };

/**
 * Parses a size for an MB-unit parameter the way PostgreSQL does:
 * - a bare number is MB;
 * - units B, kB, MB, GB, TB (case-sensitive), whitespace allowed around them;
 * - fractions are allowed: "1.5GB" = 1536 MB;
 * - the result is rounded to the nearest MB, ties to even (PostgreSQL's rint):
 *   "1024kB" = 1, "1536kB" = 2, "2560kB" = 2, "512kB" = 0 (then out of range
 *   for max_wal_size).
 * PostgreSQL first rounds to the next smaller unit ("1.0001GB" is whole MB
 * before the final rounding); that is reproduced for identical results.
 */
export function parseSizeMb(text: string, range: Range = SIZE_RANGE): ParseResult<number> {
  const split = splitNumber(text);
  if (!split) return fail(`not a size: expected a number with an optional unit (${SIZE_UNITS_TEXT})`);
  let mb = split.value;
  if (split.rest !== '') {
    const index = MB_UNITS.findIndex((u) => u.unit === split.rest);
    const entry = MB_UNITS[index];
    if (!entry) {
      const caseOnly = MB_UNITS.find((u) => u.unit.toLowerCase() === split.rest.toLowerCase());
      return fail(
        caseOnly
          ? `unit "${split.rest}" is not valid: units are case-sensitive, write "${caseOnly.unit}"`
          : `unit "${split.rest}" is not valid: valid units are ${SIZE_UNITS_TEXT}`,
      );
    }
    mb = split.value * entry.mb;
    const smaller = MB_UNITS[index + 1];
    if (smaller) mb = rint(mb / smaller.mb) * smaller.mb;
  }
  return inRange(rint(mb), range, (n) => `${n}MB`);
}

/**
 * Parses an integer parameter. Like PostgreSQL (12+), a fractional value is
 * accepted and rounded to the nearest integer, ties to even ("2.5" = 2).
 * No units: the integer `walrus.*` parameters have none.
 */
export function parseInteger(text: string, range: Range): ParseResult<number> {
  const split = splitNumber(text);
  if (!split) return fail('not a number');
  if (split.rest !== '') return fail(`unexpected "${split.rest}" after the number (no unit is allowed)`);
  return inRange(rint(split.value), range, String);
}

/** Parses a real (floating point) parameter, range inclusive. */
export function parseReal(text: string, range: Range): ParseResult<number> {
  const split = splitNumber(text);
  if (!split) return fail('not a number');
  if (split.rest !== '') return fail(`unexpected "${split.rest}" after the number (no unit is allowed)`);
  return inRange(split.value, range, String, false);
}

function inRange(
  value: number,
  range: Range,
  show: (n: number) => string,
  isInt = true,
): ParseResult<number> {
  // PostgreSQL reports an int overflow separately from the parameter's range.
  if (isInt && (value > INT_MAX || value < INT_MIN)) return fail(`${show(value)} exceeds the integer range`);
  if (value < range.min || value > range.max) {
    return fail(`${show(value)} is outside the valid range ${show(range.min)} .. ${show(range.max)}`);
  }
  return ok(value);
}

/*
 * PostgreSQL's parse_bool_with_len: case-insensitive, any prefix of "true",
 * "false", "yes", "no"; "on" and "off" need at least two letters ("o" alone
 * is ambiguous); "1" and "0" exactly. PostgreSQL does not trim a GUC value;
 * we do, because surrounding spaces in an environment variable or a
 * placeholder setting are always accidental.
 */
const BOOL_WORDS: readonly { word: string; value: boolean; minLength: number }[] = [
  { word: 'true', value: true, minLength: 1 },
  { word: 'false', value: false, minLength: 1 },
  { word: 'yes', value: true, minLength: 1 },
  { word: 'no', value: false, minLength: 1 },
  { word: 'on', value: true, minLength: 2 },
  { word: 'off', value: false, minLength: 2 },
  { word: '1', value: true, minLength: 1 },
  { word: '0', value: false, minLength: 1 },
];

export const BOOL_VALUES_TEXT = 'on/off, true/false, yes/no, 1/0 (case-insensitive; unique prefixes such as t, f, y, n)';

export function parseBool(text: string): ParseResult<boolean> {
  const t = text.trim().toLowerCase();
  for (const { word, value, minLength } of BOOL_WORDS) {
    if (t.length >= minLength && word.startsWith(t)) return ok(value);
  }
  return fail('not a boolean');
}

/**
 * Formats MB the way PostgreSQL's SHOW does: the largest unit that divides the
 * value exactly ("4GB", "1536MB"), so messages read like the settings people write.
 */
export function formatSizeMb(mb: number): string {
  if (mb !== 0 && Number.isInteger(mb)) {
    if (mb % (1024 * 1024) === 0) return `${mb / (1024 * 1024)}TB`;
    if (mb % 1024 === 0) return `${mb / 1024}GB`;
  }
  return `${mb}MB`;
}

/**
 * `value` when it is there, else a failure that says what was missing: what
 * a test or a harness helper uses instead of `value!` when it needs the value
 * to go on (lint forbids non-null assertions).
 */
export function defined<T>(value: T, what = 'a value'): NonNullable<T> {
  if (value === null || value === undefined) throw new Error(`expected ${what}, got ${String(value)}`);
  return value;
}

/**
 * pg_settings reports `setting` in the parameter's base unit, with `unit`
 * such as "MB", "8kB", "s" or "min" (a number prefix means multiples of it).
 * These helpers turn such a pair into MB / seconds and refuse anything they
 * do not understand rather than guess.
 */

const MEMORY_BYTES: Readonly<Record<string, number>> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
// Microseconds, so that integer settings convert exactly.
const TIME_MICROSECONDS: Readonly<Record<string, number>> = { us: 1, ms: 1e3, s: 1e6, min: 60e6, h: 3600e6, d: 86400e6 };
const MB = 1024 ** 2;

function scale(unit: string | null, table: Readonly<Record<string, number>>, what: string): number {
  const match = /^(\d*)\s*([A-Za-z]+)$/.exec(unit ?? '');
  const factor = match?.[2] !== undefined ? table[match[2]] : undefined;
  if (!match || factor === undefined) {
    throw new RangeError(`${what}: unknown pg_settings unit ${JSON.stringify(unit)}`);
  }
  return (match[1] ? Number(match[1]) : 1) * factor;
}

function numeric(setting: string, what: string): number {
  const value = Number(setting);
  if (setting.trim() === '' || !Number.isFinite(value)) throw new RangeError(`${what}: not a number: ${JSON.stringify(setting)}`);
  return value;
}

/** A memory setting in whole MB (rounded down, as PostgreSQL does when it shows a value in a larger unit). */
export function settingToMb(setting: string, unit: string | null, what = 'setting'): number {
  return Math.floor((numeric(setting, what) * scale(unit, MEMORY_BYTES, what)) / MB);
}

/** A time setting in whole seconds (rounded down). */
export function settingToSeconds(setting: string, unit: string | null, what = 'setting'): number {
  return Math.floor((numeric(setting, what) * scale(unit, TIME_MICROSECONDS, what)) / 1e6);
}

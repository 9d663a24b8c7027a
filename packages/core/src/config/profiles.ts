import { z } from 'zod';
import { SCALAR_PARAMS, type ParamSpec } from './param-specs.js';
import { DAY_NAMES, PROFILE_OVERRIDE_KEYS, type ProfileOverrideKey, type ProfileOverrides, type TimeProfile } from './policy.js';
import type { ParseResult } from './units.js';

const OVERRIDABLE = PROFILE_OVERRIDE_KEYS.map((key) => SCALAR_PARAMS[key]);

const Override = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const ProfileJson = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'name must be 1 to 64 characters of [A-Za-z0-9_.-]'),
  days: z.array(z.string()).min(1).optional(),
  start_hour: z.number().int().min(0).max(23),
  end_hour: z.number().int().min(1).max(24),
  time_zone: z.string().min(1).default('UTC'),
  // Keyed by parameter name (walrus.max, …): any other name is refused.
  overrides: z.strictObject(Object.fromEntries(OVERRIDABLE.map((spec) => [spec.name, Override.optional()]))).default({}),
});

function fail<T>(error: string): ParseResult<T> {
  return { ok: false, error };
}

const FULL_DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

function dayNumber(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  const i = Math.max(DAY_NAMES.indexOf(t as (typeof DAY_NAMES)[number]), FULL_DAY_NAMES.indexOf(t));
  return i < 0 ? undefined : i;
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** One override, parsed by the parameter's own spec (the same range as walrus.max etc. set directly); an error message or null. */
function parseOverride<K extends ProfileOverrideKey>(spec: ParamSpec<K>, text: string, out: ProfileOverrides): string | null {
  const r = spec.parse(text);
  if (!r.ok) return `${spec.name} ${JSON.stringify(text)}: ${r.error}`;
  out[spec.key] = r.value;
  return null;
}

function parseOverrides(o: Record<string, string | undefined>): ParseResult<ProfileOverrides> {
  const out: ProfileOverrides = {};
  for (const spec of OVERRIDABLE) {
    const text = o[spec.name];
    const error = text === undefined ? null : parseOverride(spec, text, out);
    if (error) return fail(error);
  }
  return { ok: true, value: out };
}

/**
 * Parses `walrus.profiles`: a JSON list of named windows, e.g.
 * `[{"name":"batch","days":["sat","sun"],"start_hour":1,"end_hour":6,
 *    "time_zone":"Europe/Paris","overrides":{"walrus.max":"16GB"}}]`.
 * Any invalid entry makes the whole list invalid: half a schedule is worse
 * than the plain defaults, and the caller falls back with a warning.
 */
export function parseProfiles(text: string): ParseResult<TimeProfile[]> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail('not valid JSON');
  }
  const list = z.array(z.unknown()).max(100).safeParse(json);
  if (!list.success) return fail('not a JSON list of at most 100 profiles');
  const profiles: TimeProfile[] = [];
  const names = new Set<string>();
  for (const [i, item] of list.data.entries()) {
    const parsed = ProfileJson.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = [i, ...(issue?.path ?? [])].map((p) => `[${String(p)}]`).join('');
      return fail(`profile ${where}: ${issue?.message ?? 'invalid'}`);
    }
    const p = parsed.data;
    if (names.has(p.name)) return fail(`profile [${i}]: duplicate name ${JSON.stringify(p.name)}`);
    names.add(p.name);
    const days: number[] = [];
    for (const d of p.days ?? DAY_NAMES) {
      const n = dayNumber(d);
      if (n === undefined) return fail(`profile [${i}] (${p.name}): unknown day ${JSON.stringify(d)} (allowed mon .. sun)`);
      days.push(n);
    }
    if (p.start_hour === p.end_hour) return fail(`profile [${i}] (${p.name}): start_hour equals end_hour`);
    if (!validTimeZone(p.time_zone)) return fail(`profile [${i}] (${p.name}): unknown time zone ${JSON.stringify(p.time_zone)}`);
    const overrides = parseOverrides(p.overrides);
    if (!overrides.ok) return fail(`profile [${i}] (${p.name}): ${overrides.error}`);
    profiles.push({
      name: p.name,
      days: [...new Set(days)].sort(),
      startHour: p.start_hour,
      endHour: p.end_hour,
      timeZone: p.time_zone,
      overrides: overrides.value,
    });
  }
  return { ok: true, value: profiles };
}

export function formatProfiles(profiles: readonly TimeProfile[]): string {
  return JSON.stringify(
    profiles.map((p) => ({
      name: p.name,
      days: p.days.map((d) => DAY_NAMES[d]),
      start_hour: p.startHour,
      end_hour: p.endHour,
      time_zone: p.timeZone,
      overrides: {
        ...(p.overrides.maxMb !== undefined ? { 'walrus.max': `${p.overrides.maxMb}MB` } : {}),
        ...(p.overrides.threshold !== undefined ? { 'walrus.threshold': String(p.overrides.threshold) } : {}),
        ...(p.overrides.shrinkEnable !== undefined ? { 'walrus.shrink_enable': p.overrides.shrinkEnable ? 'on' : 'off' } : {}),
        ...(p.overrides.algorithm !== undefined ? { 'walrus.algorithm': p.overrides.algorithm } : {}),
      },
    })),
  );
}

/** walrus.profiles: its value is a list of windows, each overriding some of the scalar parameters. */
export const PROFILES_PARAM: ParamSpec<'profiles'> = {
  name: 'walrus.profiles',
  key: 'profiles',
  kind: 'json',
  defaultText: '[]',
  allowed: 'a JSON list of {name, days, start_hour, end_hour, time_zone, overrides} (see Time profiles in docs/ALGORITHMS.md)',
  description: 'Time windows that override walrus.max, walrus.threshold, walrus.shrink_enable and walrus.algorithm.',
  parse: parseProfiles,
  format: formatProfiles,
};

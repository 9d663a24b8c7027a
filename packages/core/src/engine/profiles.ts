import { z } from 'zod';
import type { Policy } from '../config/params.js';
import { parseBool, parseInteger, parseSizeMb, type ParseResult } from '../config/units.js';
import { MAX_WAL_SIZE_LIMIT_MB, MIN_WAL_SIZE_LIMIT_MB } from '../schemas.js';
import { type ImplementedAlgorithm, isImplementedAlgorithm } from './algorithms/registry.js';
import { toMs } from './time.js';

/** The parameters a time profile may override. */
export type ProfileOverrides = Partial<Pick<Policy, 'maxMb' | 'threshold' | 'shrinkEnable' | 'algorithm'>>;

export interface TimeProfile {
  name: string;
  /** 0 = Sunday .. 6 = Saturday: the days on which the window starts. */
  days: number[];
  /** Local hour the window opens (0..23). */
  startHour: number;
  /** Local hour it closes (1..24); at or before startHour means the next day. */
  endHour: number;
  timeZone: string;
  overrides: ProfileOverrides;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

const Override = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const ProfileJson = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'name must be 1 to 64 characters of [A-Za-z0-9_.-]'),
  days: z.array(z.string()).min(1).optional(),
  start_hour: z.number().int().min(0).max(23),
  end_hour: z.number().int().min(1).max(24),
  time_zone: z.string().min(1).default('UTC'),
  overrides: z
    .strictObject({
      'walrus.max': Override.optional(),
      'walrus.threshold': Override.optional(),
      'walrus.shrink_enable': Override.optional(),
      'walrus.algorithm': Override.optional(),
    })
    .default({}),
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

function parseOverrides(o: Record<string, string | undefined>): ParseResult<ProfileOverrides> {
  const out: ProfileOverrides = {};
  const max = o['walrus.max'];
  if (max !== undefined) {
    const r = parseSizeMb(max, { min: MIN_WAL_SIZE_LIMIT_MB, max: MAX_WAL_SIZE_LIMIT_MB });
    if (!r.ok) return fail(`walrus.max ${JSON.stringify(max)}: ${r.error}`);
    out.maxMb = r.value;
  }
  const threshold = o['walrus.threshold'];
  if (threshold !== undefined) {
    const r = parseInteger(threshold, { min: 1, max: 1000 });
    if (!r.ok) return fail(`walrus.threshold ${JSON.stringify(threshold)}: ${r.error}`);
    out.threshold = r.value;
  }
  const shrink = o['walrus.shrink_enable'];
  if (shrink !== undefined) {
    const r = parseBool(shrink);
    if (!r.ok) return fail(`walrus.shrink_enable ${JSON.stringify(shrink)}: ${r.error}`);
    out.shrinkEnable = r.value;
  }
  const algorithm = o['walrus.algorithm'];
  if (algorithm !== undefined) {
    const name = algorithm.trim().toLowerCase();
    if (!isImplementedAlgorithm(name)) return fail(`walrus.algorithm ${JSON.stringify(algorithm)}: unknown algorithm`);
    out.algorithm = name as ImplementedAlgorithm;
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

/** Weekday (0 = Sunday) and hour of an instant in a time zone; Intl does the zone rules (pure, no I/O). */
export function localDayHour(atMs: number, timeZone: string): { day: number; hour: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: 'numeric', hourCycle: 'h23' }).formatToParts(
    new Date(atMs),
  );
  const weekday = parts.find((p) => p.type === 'weekday')?.value.toLowerCase() ?? '';
  const hour = Number(parts.find((p) => p.type === 'hour')?.value);
  return { day: DAY_NAMES.indexOf(weekday as (typeof DAY_NAMES)[number]), hour: hour % 24 };
}

/** Whether a profile's window is open at the instant. */
export function profileActive(profile: TimeProfile, atMs: number): boolean {
  const { day, hour } = localDayHour(atMs, profile.timeZone);
  if (profile.startHour < profile.endHour) {
    return profile.days.includes(day) && hour >= profile.startHour && hour < profile.endHour;
  }
  // Past midnight: the evening part on a listed day, the morning part on the day after one.
  if (hour >= profile.startHour) return profile.days.includes(day);
  return hour < profile.endHour && profile.days.includes((day + 6) % 7);
}

export interface ProfiledPolicy {
  policy: Policy;
  /** The active profile's name, null when none is open. */
  profile: string | null;
}

/** The first profile (in list order) open at the sample's time overrides the policy. */
export function applyProfiles(policy: Policy, collectedAt: string): ProfiledPolicy {
  const atMs = toMs(collectedAt);
  const active = policy.profiles.find((p) => profileActive(p, atMs));
  if (!active) return { policy, profile: null };
  return { policy: { ...policy, ...active.overrides }, profile: active.name };
}

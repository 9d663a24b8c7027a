import { DAY_NAMES, type Policy, type TimeProfile } from '../config/policy.js';
import { toMs } from './time.js';

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

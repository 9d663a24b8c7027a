import { assert, describe, expect, it } from 'vitest';
import { resolvePolicy } from '../config/overlay.js';
import { DEFAULT_POLICY, PARAMS } from '../config/params.js';
import { policy, sample, evaluateOne, baselined } from '../testing/builders.js';
import type { TimeProfile } from '../config/policy.js';
import { parseProfiles } from '../config/profiles.js';
import { applyProfiles, localDayHour, profileActive } from './profiles.js';

const parse = (json: unknown): TimeProfile[] => {
  const r = parseProfiles(JSON.stringify(json));
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

// 2025-01-06 is a Monday.
const utc = (iso: string) => Date.parse(iso);

describe('profiles - parsing', () => {
  it('profiles - reads names, days, hours, zone and overrides', () => {
    const [p] = parse([
      {
        name: 'batch',
        days: ['Sat', 'sunday'],
        start_hour: 22,
        end_hour: 6,
        time_zone: 'Europe/Paris',
        overrides: { 'walrus.max': '16GB', 'walrus.threshold': 1, 'walrus.shrink_enable': 'off', 'walrus.algorithm': 'Adaptive' },
      },
    ]);
    expect(p).toEqual({
      name: 'batch',
      days: [0, 6],
      startHour: 22,
      endHour: 6,
      timeZone: 'Europe/Paris',
      overrides: { maxMb: 16384, threshold: 1, shrinkEnable: false, algorithm: 'adaptive' },
    });
  });

  it('profiles - days default to every day, the zone to UTC', () => {
    expect(parse([{ name: 'x', start_hour: 0, end_hour: 24 }])[0]).toMatchObject({ days: [0, 1, 2, 3, 4, 5, 6], timeZone: 'UTC', overrides: {} });
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['{}', 'not a JSON list'],
    ['[{"name":"a","start_hour":25,"end_hour":3}]', 'profile [0][start_hour]'],
    ['[{"name":"a","start_hour":3,"end_hour":3}]', 'start_hour equals end_hour'],
    ['[{"name":"a","start_hour":1,"end_hour":3,"days":["funday"]}]', 'unknown day "funday"'],
    ['[{"name":"a","start_hour":1,"end_hour":3,"time_zone":"Mars/Olympus"}]', 'unknown time zone'],
    ['[{"name":"a","start_hour":1,"end_hour":3,"overrides":{"walrus.max":"lots"}}]', 'walrus.max "lots"'],
    ['[{"name":"a","start_hour":1,"end_hour":3,"overrides":{"walrus.cooldown_sec":"1"}}]', 'profile [0][overrides]'],
    ['[{"name":"a","start_hour":1,"end_hour":3},{"name":"a","start_hour":4,"end_hour":5}]', 'duplicate name'],
  ])('profiles - refuses %s', (text, message) => {
    const r = parseProfiles(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(message);
  });

  it('profiles - an invalid list on a cluster falls back to no profiles, with a warning', () => {
    const { policy: p, warnings } = resolvePolicy(DEFAULT_POLICY, { 'walrus.profiles': '[{"name":"a"}]' });
    expect(p.profiles).toEqual([]);
    expect(warnings[0]?.parameter).toBe('walrus.profiles');
    expect(warnings[0]?.message).toContain('is invalid');
  });

  it('profiles - formats back to a list that parses to the same', () => {
    const list = parse([{ name: 'n', days: ['mon'], start_hour: 1, end_hour: 2, overrides: { 'walrus.max': '1GB' } }]);
    expect(parseProfiles(PARAMS.profiles.format(list))).toEqual({ ok: true, value: list });
  });
});

describe('profiles - which one is active', () => {
  it('profiles - local day and hour come from the zone, daylight saving included', () => {
    expect(localDayHour(utc('2025-01-06T23:30:00Z'), 'Europe/Paris')).toEqual({ day: 2, hour: 0 });
    expect(localDayHour(utc('2025-07-07T22:30:00Z'), 'Europe/Paris')).toEqual({ day: 2, hour: 0 });
    expect(localDayHour(utc('2025-01-06T03:00:00Z'), 'America/New_York')).toEqual({ day: 0, hour: 22 });
  });

  it('profiles - a same-day window is [start, end) on the listed days', () => {
    const [p] = parse([{ name: 'office', days: ['mon'], start_hour: 9, end_hour: 17, time_zone: 'UTC' }]);
    assert(p);
    expect(profileActive(p, utc('2025-01-06T09:00:00Z'))).toBe(true);
    expect(profileActive(p, utc('2025-01-06T16:59:59Z'))).toBe(true);
    expect(profileActive(p, utc('2025-01-06T17:00:00Z'))).toBe(false);
    expect(profileActive(p, utc('2025-01-07T10:00:00Z'))).toBe(false);
  });

  it('profiles - a window past midnight belongs to the day it starts', () => {
    const [p] = parse([{ name: 'night', days: ['sat'], start_hour: 22, end_hour: 6, time_zone: 'UTC' }]);
    assert(p);
    expect(profileActive(p, utc('2025-01-11T23:00:00Z'))).toBe(true); // Saturday night
    expect(profileActive(p, utc('2025-01-12T05:59:00Z'))).toBe(true); // Sunday morning
    expect(profileActive(p, utc('2025-01-12T23:00:00Z'))).toBe(false); // Sunday night
    expect(profileActive(p, utc('2025-01-11T05:00:00Z'))).toBe(false); // Saturday morning: Friday was not listed
  });

  it('profiles - the first open profile in list order wins and overrides only its parameters', () => {
    const profiles = parse([
      { name: 'first', start_hour: 0, end_hour: 24, overrides: { 'walrus.threshold': '7' } },
      { name: 'second', start_hour: 0, end_hour: 24, overrides: { 'walrus.max': '1GB' } },
    ]);
    const r = applyProfiles(policy({ profiles }), '2025-01-06T10:00:00Z');
    expect(r.profile).toBe('first');
    expect(r.policy).toMatchObject({ threshold: 7, maxMb: 4096 });
    expect(applyProfiles(policy(), '2025-01-06T10:00:00Z')).toEqual({ policy: policy(), profile: null });
  });
});

describe('profiles - in the engine', () => {
  const profiles = parse([{ name: 'batch', start_hour: 0, end_hour: 12, time_zone: 'UTC', overrides: { 'walrus.max': '2GB', 'walrus.threshold': '5' } }]);

  it('profiles - the sample time picks the profile, which the decision carries', () => {
    // T0 is 2025-01-01T00:00Z: inside the 0-12 window.
    const inside = evaluateOne(baselined(), sample({ at: 300, requested: 6 }), policy({ profiles }));
    expect(inside.decision).toMatchObject({ action: 'capped', new_size_mb: 2048, metadata: { profile: 'batch' } });
    expect(inside.insight?.profile).toBe('batch');
    expect(inside.state.activeProfile).toBe('batch');
    // threshold 5 from the profile: 3 forced checkpoints do nothing inside, grow outside (13:00).
    expect(evaluateOne(baselined(), sample({ at: 300, requested: 3 }), policy({ profiles })).decision).toBeNull();
    const outside = evaluateOne(baselined({ lastSampleAt: '2025-01-01T13:00:00.000Z' }), sample({ at: 13 * 3600 + 300, requested: 3 }), policy({ profiles }));
    expect(outside.decision).toMatchObject({ action: 'increase', new_size_mb: 4096 });
    expect(outside.decision?.metadata).not.toHaveProperty('profile');
    expect(outside.insight?.profile).toBeNull();
  });
});

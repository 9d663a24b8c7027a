import { assert, describe, expect, it } from 'vitest';
import { isExecutable } from '../schemas.js';
import { repeat, scenario, type ScenarioResult, type Tick } from './algorithms/sizing-scenario.js';
import { ClusterStateV2 } from './state/current.js';
import { expectedNeed, learnRecurring, RECURRING_PERIODS, RECURRING_SLOTS } from './recurring.js';
import { at, sample } from '../testing/builders.js';
import { MB, requiredSizeMb } from './wal-rate.js';

/*
 * Issue 25 item 3 in a compressed run: a 20-minute "day" (walrus.recurring_period_sec
 * 1200), a 2-minute batch at 20 MB/s from minute 10 of each day, 0.5 MB/s otherwise,
 * checkpoint_timeout 30 s, a sample every 5 s, PostgreSQL forcing checkpoints when
 * max_wal_size is too small (walForces), four days.
 */
const DAY = 1200;
const STEP = 5;
const BATCH_AT = 600;
const BATCH_SEC = 120;
const QUIET = 0.5;
const BATCH = 20;
const need = (mbPerSec: number): number => requiredSizeMb(mbPerSec * MB, sample({ timeout: 30 }));

function days(n: number, batchOn: (day: number) => boolean = () => true): Tick[] {
  return Array.from({ length: (n * DAY) / STEP }, (_, i) => {
    const t = (i + 1) * STEP;
    const inDay = (t - 1) % DAY;
    const day = Math.floor((t - 1) / DAY);
    const busy = batchOn(day) && inDay >= BATCH_AT && inDay < BATCH_AT + BATCH_SEC;
    return { rate: busy ? BATCH : QUIET, dt: STEP };
  });
}

/** Requested checkpoints counted between two times (s), from the state after each sample. */
function forcedBetween(r: ScenarioResult, fromSec: number, toSec: number): number {
  const at = (sec: number) => r.results[Math.round(sec / STEP)]?.state.prevRequested ?? 0;
  return at(toSec) - at(fromSec);
}

describe.each(['adaptive', 'percentile'] as const)('recurring loads - %s', (algorithm) => {
  const policy = { algorithm, recurringPeriodSec: DAY, minSizeMb: 32 };

  it('recurring loads - four compressed days: from the second batch on no forced checkpoint, ready before it, back near the quiet need between', () => {
    const r = scenario(days(4), { policy, walForces: true, step: STEP });
    // The first batch is learned the hard way (or caught by proactive sizing at its onset).
    for (let day = 1; day < 4; day++) {
      const start = day * DAY + BATCH_AT;
      expect(forcedBetween(r, start - 60, start + BATCH_SEC + 60), `day ${day + 1}`).toBe(0);
      // ready before the batch: the size at its first sample already holds it
      const before = r.sizes[Math.round(start / STEP)];
      assert(before !== undefined);
      expect(before, `day ${day + 1}`).toBeGreaterThanOrEqual(need(BATCH));
      // and the decision that made it so is named
      const grown = r.decisions.filter((d) => isExecutable(d.action) && Date.parse(d.sample_at) >= Date.parse(at(start - 120)) && Date.parse(d.sample_at) <= Date.parse(at(start)));
      expect(grown.map((d) => d.metadata['trigger']), `day ${day + 1}`).toContain('recurring');
      expect(grown.find((d) => d.metadata['trigger'] === 'recurring')?.reason).toMatch(/^recurring: a load that needed \d+ MB came back at this time of the 1200 s period in the previous period/);
      // between occurrences: within 1.5 x the quiet need before the next batch's lead
      if (day < 3) {
        const between = r.sizes[Math.round((start + DAY - 180) / STEP)];
        assert(between !== undefined);
        expect(between, `after day ${day + 1}`).toBeLessThanOrEqual(need(QUIET) * 1.5);
      }
    }
    // within walrus.max, and the state stays storable and bounded
    expect(Math.max(...r.sizes)).toBeLessThanOrEqual(4096);
    const stored = ClusterStateV2.parse(JSON.parse(JSON.stringify(r.state)));
    expect(stored.recurring?.past.length).toBeLessThanOrEqual(RECURRING_PERIODS);
    expect(JSON.stringify(stored.recurring).length).toBeLessThan(2000);
  });

  it('recurring loads - without the memory (walrus.recurring_period_sec 0) every batch starts with forced checkpoints or a growth at its onset', () => {
    const r = scenario(days(2), { policy: { ...policy, recurringPeriodSec: 0 }, walForces: true, step: STEP });
    const start = DAY + BATCH_AT;
    const sizeAtStart = r.sizes[Math.round(start / STEP) - 1];
    assert(sizeAtStart !== undefined);
    expect(sizeAtStart).toBeLessThan(need(BATCH));
    expect(r.state.recurring).toBeUndefined();
  });

  it('recurring loads - a time profile open at the batch wins: no recurring growth under it', () => {
    // a profile every day, all day, that caps walrus.max at 64 MB
    const profiles = [{ name: 'capped', days: [0, 1, 2, 3, 4, 5, 6], startHour: 0, endHour: 24, timeZone: 'UTC', overrides: { maxMb: 64 } }];
    const r = scenario(days(2), { policy: { ...policy, profiles }, walForces: true, step: STEP });
    expect(r.decisions.filter((d) => d.metadata['trigger'] === 'recurring')).toEqual([]);
    expect(Math.max(...r.sizes)).toBeLessThanOrEqual(64);
  });

  it('recurring loads - within the WAL disk budget', () => {
    const r = scenario(days(2), { policy: { ...policy, walDiskBudgetMb: 400 }, walForces: true, step: STEP });
    expect(Math.max(...r.sizes)).toBeLessThanOrEqual(400);
  });
});

describe('recurring loads - the memory', () => {
  const P = 1200;
  const s = (sec: number) => sample({ at: sec, timeout: 30 });
  const learnDay = (m: ReturnType<typeof learnRecurring>, day: number, peakSlot: number | null, peakMb = 800) => {
    let out = m;
    for (let slot = 0; slot < RECURRING_SLOTS; slot++) out = learnRecurring(out, s(day * P + (slot * P) / RECURRING_SLOTS + 1), slot === peakSlot ? peakMb : 48, P);
    return out;
  };
  const ahead = (m: ReturnType<typeof learnRecurring>, day: number, slot: number) => expectedNeed(m, s(day * P + (slot * P) / RECURRING_SLOTS - 20), 60);

  it('recurring loads - a load of the previous period is expected at its slot, a quiet slot is not', () => {
    const m = learnDay(undefined, 0, 40);
    expect(ahead(m, 1, 40)).toMatchObject({ needMb: 800, slot: 40, rule: 'previous_period', seenPeriodsAgo: [1], sizeMb: 920 });
    expect(ahead(m, 1, 70)).toBeNull();
  });

  it('recurring loads - a load seen twice in the last periods but not the previous one is still expected (a weekday load after a weekend)', () => {
    let m = learnDay(undefined, 0, 40);
    m = learnDay(m, 1, 40, 600);
    m = learnDay(m, 2, null);
    m = learnDay(m, 3, null);
    expect(ahead(m, 4, 40)).toMatchObject({ needMb: 600, rule: 'two_of_last', seenPeriodsAgo: [3, 4] });
    // once: not after a quiet previous period
    const once = learnDay(learnDay(undefined, 0, 40), 1, null);
    expect(ahead(once, 2, 40)).toBeNull();
  });

  it('recurring loads - a period of a day remembers a weekly load: the same weekday a week before', () => {
    const D = 86400;
    const sd = (sec: number) => sample({ at: sec, timeout: 300 });
    let m: ReturnType<typeof learnRecurring>;
    m = undefined;
    for (let day = 0; day < 8; day++) {
      for (let slot = 0; slot < RECURRING_SLOTS; slot++) m = learnRecurring(m, sd(day * D + slot * 900 + 1), day === 0 && slot === 8 ? 2000 : 64, D);
    }
    expect(expectedNeed(m, sd(7 * D + 8 * 900 - 300), 900)).toMatchObject({ needMb: 2000, rule: 'same_weekday', seenPeriodsAgo: [7] });
  });

  it('recurring loads - a period older than the memory is forgotten, and a new period length starts over', () => {
    let m = learnDay(undefined, 0, 40);
    for (let day = 1; day <= RECURRING_PERIODS + 1; day++) m = learnDay(m, day, null);
    expect(m?.past.every((p) => p.peaks.length === 0)).toBe(true);
    expect(m?.past.length).toBe(RECURRING_PERIODS);
    expect(learnRecurring(m, s(20 * P), 48, 600)?.past).toEqual([]);
    expect(learnRecurring(m, s(20 * P), 48, 0)).toBeUndefined();
  });

  it('recurring loads - slots of a quiet cluster whose need wobbles are no peaks', () => {
    let m: ReturnType<typeof learnRecurring> = undefined;
    for (let i = 0; i < RECURRING_SLOTS * 2; i++) m = learnRecurring(m, s((i * P) / RECURRING_SLOTS + 1), i % 3 === 0 ? 80 : 48, P);
    expect(m?.past[0]?.peaks).toEqual([]);
  });
});

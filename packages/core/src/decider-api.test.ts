import { describe, expect, it } from 'vitest';
import { DeciderAnalyzeRequest, manualSample as manualSampleWith } from './decider-api.js';
import type { Sample } from './schemas.js';
import { at, sample, T0 } from './testing/builders.js';

const C = 'pg-test';
const MAX_SKEW_MS = 300_000;
const manualSample = (cluster: string, given: Sample | null, stored: Sample | null, nowMs: number) => manualSampleWith(cluster, given, stored, nowMs, MAX_SKEW_MS);

describe('decider requests - which statistics analyze --apply evaluates (pure)', () => {
  const stored = sample({ at: 100, requested: 3, settings: { 'walrus.max': '8GB' } });

  it('takes a sound live sample, with the walrus.* settings of the collector’s last sample', () => {
    const live = sample({ at: 200, requested: 9, settings: { 'walrus.max': '2TB', 'walrus.algorithm': 'additive' } });
    const r = manualSample(C, live, stored, T0 + 200_000);
    expect(r).toMatchObject({ ok: true, source: 'live', sample: { ...live, settings: { 'walrus.max': '8GB' } } });
    expect(r.ok && r.note).toMatch(/settings differ from those of its last sample \(.*\); a decider evaluates with the settings the collector reported/);
    // Without any stored sample, a live one is evaluated with the service defaults.
    expect(manualSample(C, live, null, T0 + 200_000)).toMatchObject({ ok: true, source: 'live', sample: { settings: {} } });
    // Same settings: nothing to say.
    expect(manualSample(C, sample({ at: 200, settings: { 'walrus.max': '8GB' } }), stored, T0 + 200_000)).toMatchObject({ ok: true, source: 'live', note: null });
  });

  it('refuses a sample of another cluster, or dated after the decider’s clock beyond the allowed skew', () => {
    expect(manualSample(C, sample({ at: 200, cluster: 'other' }), stored, T0 + 200_000)).toEqual({ ok: false, reason: 'the sample is of cluster other, the request of pg-test' });
    const ahead = MAX_SKEW_MS / 1000;
    expect(manualSample(C, sample({ at: 200 + ahead }), stored, T0 + 200_000)).toMatchObject({ ok: true, source: 'live' });
    const refused = manualSample(C, sample({ at: 201 + ahead }), stored, T0 + 200_000);
    expect(refused).toEqual({ ok: false, reason: expect.stringContaining(`the live sample is refused: clock ahead: collected_at ${at(201 + ahead)} is ${ahead + 1} s ahead of the decider's clock (at most ${ahead} s, WALRUS_MAX_CLOCK_SKEW_SEC)`) });
    // The tolerance is the caller's (the deciders' setting).
    expect(manualSampleWith(C, sample({ at: 261 }), stored, T0 + 200_000, 60_000)).toMatchObject({ ok: false, reason: expect.stringContaining('61 s ahead') });
  });

  it('does not take a stored sample dated beyond the tolerance either', () => {
    const future = sample({ at: 200 + 365 * 86400, requested: 3 });
    expect(manualSample(C, null, future, T0 + 200_000)).toEqual({ ok: true, sample: null, source: null, note: null });
    const live = sample({ at: 200, requested: 9 });
    expect(manualSample(C, live, future, T0 + 200_000)).toMatchObject({ ok: true, source: 'live', sample: { collected_at: live.collected_at, settings: {} } });
  });

  it('takes the stored sample when no live one is given or the live one is not newer; nothing when there is neither', () => {
    expect(manualSample(C, null, stored, T0 + 200_000)).toEqual({ ok: true, sample: stored, source: 'stream', note: null });
    expect(manualSample(C, sample({ at: 100 }), stored, T0 + 200_000)).toEqual({ ok: true, sample: stored, source: 'stream', note: null });
    expect(manualSample(C, null, null, T0)).toEqual({ ok: true, sample: null, source: null, note: null });
  });

  it('parses requests strictly: a sample must be a valid Sample v1', () => {
    expect(DeciderAnalyzeRequest.parse({ cluster: C })).toEqual({ cluster: C, sample: null });
    expect(DeciderAnalyzeRequest.safeParse({ cluster: C, sample: { v: 1 } }).success).toBe(false);
    expect(DeciderAnalyzeRequest.safeParse({ cluster: C, apply: true }).success).toBe(false);
  });
});

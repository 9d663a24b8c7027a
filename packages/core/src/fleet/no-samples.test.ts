import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../config/params.js';
import { evaluateAlerts } from '../engine/disk/alerts.js';
import { sampleWith } from '../testing/builders.js';
import { noSamplesAfterSec, noSamplesAlert, withNoSamples } from './no-samples.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const quiet = (over: Partial<Parameters<typeof noSamplesAlert>[0]> = {}) => ({ cluster: 'c1', lastSampleMs: T0, registeredMs: null, intervalSec: 10, ...over });

describe('no_samples - a quiet cluster is an alert', () => {
  it('fires after three sample intervals without a sample, and never before a minute', () => {
    expect(noSamplesAfterSec(10)).toBe(60);
    expect(noSamplesAfterSec(60)).toBe(180);
    expect(noSamplesAlert(quiet(), { firing: {} }, T0 + 60_000)).toBeNull();
    const a = noSamplesAlert(quiet(), { firing: {} }, T0 + 60_001);
    expect(a).toMatchObject({ kind: 'no_samples', state: 'firing', cluster: 'c1', at: '2026-12-01T10:01:00.000Z', last_sample_at: '2026-12-01T10:00:00.000Z', interval_sec: 10 });
    expect(noSamplesAlert(quiet({ intervalSec: 60 }), { firing: {} }, T0 + 179_000)).toBeNull();
    // Without a known interval: PostgreSQL's default checkpoint_timeout, five minutes.
    expect(noSamplesAlert(quiet({ intervalSec: null }), { firing: {} }, T0 + 899_000)).toBeNull();
    expect(noSamplesAlert(quiet({ intervalSec: null }), { firing: {} }, T0 + 901_000)).not.toBeNull();
  });

  it('gives every decider the same alert (same id and time whenever it sweeps), and none while it fires', () => {
    const a = noSamplesAlert(quiet(), { firing: {} }, T0 + 61_000);
    const b = noSamplesAlert(quiet(), { firing: {} }, T0 + 95_000);
    expect(a?.id).toBe(b?.id);
    expect(a?.at).toBe(b?.at);
    if (!a) throw new Error('no alert');
    expect(noSamplesAlert(quiet(), withNoSamples({ firing: {} }, a), T0 + 200_000)).toBeNull();
  });

  it('counts a registered cluster never sampled from its registration; nothing without either time', () => {
    expect(noSamplesAlert(quiet({ lastSampleMs: null, registeredMs: T0 }), { firing: {} }, T0 + 61_000)).toMatchObject({ last_sample_at: null, detail: expect.stringMatching(/^no sample since the cluster was registered/) });
    expect(noSamplesAlert(quiet({ lastSampleMs: null, registeredMs: null }), { firing: {} }, T0 + 10_000_000)).toBeNull();
  });

  it('is resolved by the next sample of the cluster, once', () => {
    const a = noSamplesAlert(quiet(), { firing: {} }, T0 + 61_000);
    if (!a) throw new Error('no alert');
    const book = withNoSamples({ firing: {} }, a);
    const s = sampleWith({ cluster: 'c1', collected_at: '2026-12-01T10:05:00.000Z' });
    const r = evaluateAlerts(book, s, DEFAULT_POLICY);
    expect(r.alerts).toMatchObject([{ kind: 'no_samples', state: 'resolved', at: '2026-12-01T10:05:00.000Z' }]);
    expect(r.state.firing).toEqual({});
    expect(evaluateAlerts(r.state, s, DEFAULT_POLICY).alerts).toEqual([]);
  });
});

import { assert, describe, expect, it } from 'vitest';
import { policy, run, sample } from '../testing/builders.js';
import { sizingStatus } from './sizing-status.js';
import { MB } from './wal-rate.js';

describe('sizing status', () => {
  it('sizing status - reads the rate, the required size and the profile from the state', () => {
    const profiles = [{ name: 'always', days: [0, 1, 2, 3, 4, 5, 6], startHour: 0, endHour: 24, timeZone: 'UTC', overrides: {} }];
    const samples = [0, 300, 600].map((at, i) => sample({ at, walBytes: i * 300 * MB }));
    const { state } = run(samples, policy({ profiles }));
    // 1 MB/s over 300 s: 300 MB, CheckPointSegments 20 = floor(38 / 1.9): 38 segments of 16 MB
    const last = samples[2];
    assert(last);
    expect(sizingStatus(state, last)).toEqual({
      active_profile: 'always',
      wal_rate_bytes_per_second: MB,
      wal_rate_ema_bytes_per_second: MB,
      required_size_mb: 608,
    });
    expect(sizingStatus(null, null)).toEqual({ active_profile: null, wal_rate_bytes_per_second: null, wal_rate_ema_bytes_per_second: null, required_size_mb: null });
  });

  it('sizing status - every decision carries it as of its own sample (and a copy in its metadata)', () => {
    const profiles = [{ name: 'always', days: [0, 1, 2, 3, 4, 5, 6], startHour: 0, endHour: 24, timeZone: 'UTC', overrides: {} }];
    // 2 MB/s over each 300 s interval; forced checkpoints in the last two intervals.
    const samples = [0, 300, 600, 900].map((at, i) => sample({ at, walBytes: i * 600 * MB, requested: [0, 0, 5, 15][i] ?? 0 }));
    const { results } = run(samples, policy({ profiles, cooldownSec: 0 }));
    const decided = results.flatMap((r, i) => {
      const s = samples[i];
      return r.decision && s ? [{ d: r.decision, state: r.state, s }] : [];
    });
    expect(decided.map((x) => x.d.action)).toEqual(['capped', 'capped']);
    for (const { d, state, s } of decided) {
      expect(d.sizing_status).toEqual(sizingStatus(state, s));
      // 2 MB/s: 600 MB, CheckPointSegments 39 = floor(75 / 1.9): 75 segments of 16 MB
      expect(d.sizing_status).toMatchObject({ active_profile: 'always', wal_rate_bytes_per_second: 2 * MB, required_size_mb: 1200 });
      expect(d.metadata['sizing_status']).toEqual(d.sizing_status);
    }
    // Without a profile it says none, and before a whole interval was measured the rate is unknown.
    const early = run([sample({ at: 0 }), sample({ at: 60, requested: 5 })], policy({ cooldownSec: 0 })).results[1]?.decision;
    assert(early);
    expect(early.sizing_status).toEqual({ active_profile: null, wal_rate_bytes_per_second: null, wal_rate_ema_bytes_per_second: null, required_size_mb: null });
  });
});

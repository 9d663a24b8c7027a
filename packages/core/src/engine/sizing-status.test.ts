import { describe, expect, it } from 'vitest';
import { policy, run, sample } from '../testing/builders.js';
import { sizingStatus } from './sizing-status.js';
import { MB } from './wal-rate.js';

describe('sizing status', () => {
  it('sizing status - reads the rate, the required size and the profile from the state', () => {
    const profiles = [{ name: 'always', days: [0, 1, 2, 3, 4, 5, 6], startHour: 0, endHour: 24, timeZone: 'UTC', overrides: {} }];
    const samples = [0, 300, 600].map((at, i) => sample({ at, walBytes: i * 300 * MB }));
    const { state } = run(samples, policy({ profiles }));
    // 1 MB/s over 300 s: 1.9 x (300 + 16) = 601 MB
    expect(sizingStatus(state, samples[2]!)).toEqual({
      active_profile: 'always',
      wal_rate_bytes_per_second: MB,
      wal_rate_ema_bytes_per_second: MB,
      required_size_mb: 601,
    });
    expect(sizingStatus(null, null)).toEqual({ active_profile: null, wal_rate_bytes_per_second: null, wal_rate_ema_bytes_per_second: null, required_size_mb: null });
  });
});

import { describe, expect, it } from 'vitest';
import type { ReplicationSlot } from '../../disk-schemas.js';
import type { Sample } from '../../schemas.js';
import { policy, sample } from '../../testing/builders.js';
import { forecastDisk, formatDuration, type ForecastMemory } from './forecast.js';

const MB = 1024 * 1024;
const BUDGET = policy({ walDiskBudgetMb: 1000 });
const slot = (name: string, retainedMb: number): ReplicationSlot => ({ name, type: 'physical', active: false, wal_status: 'reserved', retained_bytes: retainedMb * MB, safe_wal_size_bytes: null });
const disk = (t: number, pgWalMb: number, fields: Partial<Sample> = {}): Sample => ({ ...sample({ at: t }), pg_wal_bytes: pgWalMb * MB, replication_slots: [], ...fields });

function run(samples: Sample[], p = BUDGET) {
  let memory: ForecastMemory | null = null;
  return samples.map((s) => {
    const r = forecastDisk(s, p, memory);
    memory = r.memory;
    return r.forecast;
  });
}

describe('forecast - time to full', () => {
  it('forecast - a growing slot: the budget is reached at its trend, and it is named', () => {
    const [first, second] = run([disk(0, 200, { replication_slots: [slot('stuck', 100)] }), disk(100, 300, { replication_slots: [slot('stuck', 200)] })]);
    expect(first).toMatchObject({ etaSec: null, cause: null });
    // 1 MB/s, 700 MB left.
    expect(second).toMatchObject({ etaSec: 700, cause: 'replication_slot', slot: 'stuck' });
    expect(second?.detail).toBe('pg_wal holds 300 MB of walrus.wal_disk_budget 1000 MB; replication slot stuck grows by 1 MB/s: the budget is reached in about 11 min 40 s');
  });

  it('forecast - a failing archiver: its backlog in segments and bytes is the cause', () => {
    const arch = (pending: number): Partial<Sample> => ({
      archiver: { mode: 'on', configured: true, archived_count: 0, failed_count: 3, last_archived_wal: null, last_archived_at: null, last_failed_wal: null, last_failed_at: null, pending_files: pending },
      wal_segment_size_bytes: 16 * MB,
    });
    const [, f] = run([disk(0, 160, arch(10)), disk(160, 320, arch(20))]);
    expect(f).toMatchObject({ etaSec: 680, cause: 'archiver', slot: null, archiverBacklog: { segments: 20, bytes: 320 * MB } });
    expect(f?.detail).toContain('(20 segment(s), 320 MB, wait to be archived)');
  });

  it('forecast - nothing growing, a shrinking pg_wal, no budget: no time to full', () => {
    expect(run([disk(0, 500), disk(60, 400)])[1]).toMatchObject({ etaSec: null, cause: null });
    expect(run([disk(0, 100), disk(60, 400)], policy({ walDiskBudgetMb: null }))[1]).toMatchObject({ etaSec: null, rates: { pg_wal: 5 * MB } });
  });

  it('forecast - the trend is a moving average: one recycled segment does not swing it; another slot starts a new trend', () => {
    const f = run([
      disk(0, 100, { replication_slots: [slot('a', 100)] }),
      disk(100, 200, { replication_slots: [slot('a', 200)] }),
      disk(200, 200, { replication_slots: [slot('a', 200)] }),
      disk(300, 200, { replication_slots: [slot('b', 300)] }),
    ]);
    expect(f[2]?.rates.replication_slot).toBe(0.5 * MB);
    expect(f[3]?.rates.replication_slot).toBeNull();
  });

  it('forecast - durations read as people say them', () => {
    expect([formatDuration(45), formatDuration(200), formatDuration(7500)]).toEqual(['45 s', '3 min 20 s', '2 h 5 min']);
  });
});

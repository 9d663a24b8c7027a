import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApplyResultV1, DecisionV1, SampleV1, type Sample } from './schemas.js';
import { sample } from './testing/builders.js';

/** What a consumer does with a message body: parse JSON, then validate. Must never throw past safeParse. */
function decode(bytes: Uint8Array) {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return 'not json';
  }
  return [SampleV1.safeParse(value).success, DecisionV1.safeParse(value).success, ApplyResultV1.safeParse(value).success];
}

const base = sample({ requested: 3, at: 60 });
const KEYS = Object.keys(base) as (keyof Sample)[];

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
/** Any JSON value whose kind is none of `kinds` (e.g. not a number for a counter). */
const notOfKind = (...kinds: string[]) => fc.jsonValue().filter((v) => !kinds.includes(kindOf(v)));
/** Non-negative whole numbers are what a counter holds: anything else is not. */
const notCount = fc.oneof(notOfKind('number'), fc.integer({ max: -1 }), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)));

/*
 * For each Sample field, values that are certainly wrong for it (the wrong
 * kind, out of range, or a string of the wrong shape): each one alone must
 * make an otherwise valid sample invalid. Written from the contract
 * (docs/ARCHITECTURE.md, Sample v1), not from the zod schema.
 */
const BAD: { [K in keyof Sample]-?: fc.Arbitrary<unknown> } = {
  v: fc.jsonValue().filter((v) => v !== 1),
  cluster: fc.oneof(
    notOfKind('string'),
    fc.constant(''),
    fc.string({ minLength: 65, maxLength: 80, unit: fc.constantFrom('a', 'B', '0', '_', '-') }),
    fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom('.', '*', '>', ' ', '/', 'é'), fc.string({ maxLength: 10 })).map(([a, c, b]) => `${a}${c}${b}`),
  ),
  collected_at: fc.oneof(notOfKind('string'), fc.string().filter((s) => !/\d{4}-\d\d-\d\dT/.test(s)), fc.constantFrom('2025-13-01T00:00:00Z', '2025-01-01', '2025-01-01T00:00:00')),
  server_version_num: fc.oneof(notOfKind('number'), fc.integer({ max: 0 }), fc.constant(170000.5)),
  in_recovery: notOfKind('boolean'),
  checkpoints_requested: notCount,
  checkpoints_timed: notCount,
  stats_reset: fc.oneof(notOfKind('string', 'null'), fc.constantFrom('yesterday', '')),
  wal_lsn: fc.oneof(notOfKind('string'), fc.string().filter((s) => !s.includes('/')), fc.constantFrom('0/', '/0', '0/G', '123456789/0')),
  wal_bytes: fc.oneof(notOfKind('number'), fc.double({ max: -Number.MIN_VALUE, noNaN: true })),
  max_wal_size_mb: fc.oneof(notOfKind('number'), fc.integer({ max: -1 }), fc.double({ min: 2147483648, max: 1e15, noNaN: true }).map(Math.floor), fc.constant(64.5)),
  checkpoint_timeout_s: fc.oneof(notOfKind('number'), fc.integer({ max: 0 }), fc.constant(30.5)),
  checkpoint_completion_target: fc.oneof(notOfKind('number'), fc.double({ min: 1.0000001, noNaN: true }), fc.double({ max: -Number.MIN_VALUE, noNaN: true })),
  settings: fc.oneof(
    notOfKind('object'),
    fc.dictionary(fc.string().filter((k) => !/^walrus\.[a-z_]+$/.test(k)), fc.string(), { minKeys: 1, maxKeys: 3 }),
    fc.constant({ 'walrus.max': 4096 }),
  ),
  checkpoint_redo_bytes: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-1)),
  checkpoint_write_time_ms: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-1)),
  checkpoint_sync_time_ms: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-0.5)),
  wal_fpi: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-1), fc.constant(1.5)),
  xact_commit: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-1), fc.constant(2.5)),
  collector: fc.oneof(notOfKind('string', 'undefined'), fc.constant(''), fc.constant('a.b'), fc.constant('x'.repeat(65))),
  wal_segment_size_bytes: fc.oneof(notOfKind('number', 'undefined'), fc.constant(0), fc.constant(16.5)),
  pg_wal_bytes: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-1), fc.constant(1.5)),
  wal_keep_size_mb: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-1), fc.constant(0.5)),
  replication_slots: fc.oneof(
    notOfKind('array', 'undefined'),
    fc.constant([{ name: 's', type: 'physical', active: false, wal_status: 'reserved', retained_bytes: -1, safe_wal_size_bytes: null }]),
    fc.constant([{ name: '', type: 'physical', active: false, wal_status: null, retained_bytes: 0, safe_wal_size_bytes: null }]),
    fc.constant([{ name: 's', type: 'other', active: false, wal_status: null, retained_bytes: 0, safe_wal_size_bytes: null }]),
    fc.constant([{ name: 's', type: 'physical', active: false, wal_status: 'lost', retained_bytes: null, safe_wal_size_bytes: null, invalidation_reason: 7 }]),
    fc.constant([{ name: 's', type: 'physical', active: false, wal_status: null, retained_bytes: 0, safe_wal_size_bytes: null, inactive_since: 'yesterday' }]),
  ),
  max_slot_wal_keep_size_mb: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-2), fc.constant(1.5)),
  idle_replication_slot_timeout_s: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-1), fc.constant(1.5)),
  checkpoints_done: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-1), fc.constant(1.5)),
  restartpoints_requested: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-1), fc.constant(1.5)),
  restartpoints_timed: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-1), fc.constant(1.5)),
  restartpoints_done: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-1), fc.constant(1.5)),
  replication_slot_count: fc.oneof(notOfKind('number', 'undefined'), fc.constant(-1), fc.constant(2.5)),
  member: fc.oneof(notOfKind('string', 'undefined'), fc.constantFrom('', 'db1', 'db1:', ':5432', 'db 1:5432', 'db1:port', 'db1:123456')),
  timeline: fc.oneof(notOfKind('number', 'undefined'), fc.integer({ max: 0 }), fc.constant(1.5)),
  archiver: fc.oneof(
    notOfKind('object', 'undefined'),
    fc.constant({ mode: 'sometimes' }),
    fc.constant({ mode: 'on', configured: true, archived_count: -1, failed_count: 0, last_archived_wal: null, last_archived_at: null, last_failed_wal: null, last_failed_at: null, pending_files: null }),
  ),
};

describe('fuzz - message validation', () => {
  it('fuzz - random bytes and random JSON never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void decode(b)), { numRuns: 300 });
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(() => decode(new TextEncoder().encode(JSON.stringify(v)))).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it('fuzz - the base sample is valid (so every refusal below is the bad field\'s doing)', () => {
    expect(SampleV1.safeParse(base).success).toBe(true);
    expect(SampleV1.safeParse({ ...base, checkpoint_redo_bytes: 0, wal_segment_size_bytes: 16 * 1024 * 1024 }).success).toBe(true);
  });

  it('fuzz - a sample with any one field made wrong is refused, and the refusal names that field', () => {
    const badField = fc.constantFrom(...(Object.keys(BAD) as (keyof Sample)[])).chain((key) => BAD[key].map((value) => [key, value] as const));
    fc.assert(
      fc.property(badField, ([key, value]) => {
        const r = SampleV1.safeParse({ ...base, [key]: value });
        expect(r.success, `${key} = ${JSON.stringify(value)}`).toBe(false);
        expect(r.error?.issues.map((i) => i.path[0])).toContain(key);
      }),
      { numRuns: 1000 },
    );
  });

  it('fuzz - a sample missing a required field, or with a field the contract does not know, is refused', () => {
    const required = KEYS.filter((k) => k !== 'checkpoint_redo_bytes' && k !== 'wal_segment_size_bytes');
    for (const key of required) {
      const { [key]: _gone, ...rest } = base;
      expect(SampleV1.safeParse(rest).success, `without ${key}`).toBe(false);
    }
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((k) => !(KEYS as string[]).includes(k) && k !== 'checkpoint_redo_bytes' && k !== 'wal_segment_size_bytes' && k !== '__proto__'),
        fc.jsonValue(),
        (key, value) => {
          expect(SampleV1.safeParse({ ...base, [key]: value }).success).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fuzz - a valid sample with one field replaced by anything is either refused or still a sample of the contract', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KEYS), fc.jsonValue(), (key, value) => {
        const r = SampleV1.safeParse({ ...base, [key]: value });
        if (!r.success) return;
        // Accepted: then the value is one the contract allows for that field.
        expect(r.data.cluster).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
        expect(Number.isInteger(r.data.checkpoints_requested) && r.data.checkpoints_requested >= 0).toBe(true);
        expect(Number.isInteger(r.data.max_wal_size_mb) && r.data.max_wal_size_mb <= 2147483647).toBe(true);
        expect(r.data.checkpoint_completion_target).toBeGreaterThanOrEqual(0);
        expect(r.data.checkpoint_completion_target).toBeLessThanOrEqual(1);
        expect(typeof r.data.in_recovery).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApplyResultV1, DecisionV1, SampleV1 } from './schemas.js';
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

  it('fuzz - a valid sample with one field replaced by anything is either valid or refused, never a crash', () => {
    const base = sample({ requested: 3, at: 60 });
    const keys = Object.keys(base) as (keyof typeof base)[];
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.jsonValue(), (key, value) => {
        const r = SampleV1.safeParse({ ...base, [key]: value });
        if (r.success) expect(r.data.cluster).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      }),
      { numRuns: 300 },
    );
  });
});

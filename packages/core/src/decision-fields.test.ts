import { describe, expect, it } from 'vitest';
import { DecisionV1, type Decision } from './schemas.js';

const base: Decision = {
  v: 1,
  id: '5d0c3a52-9a52-5d8e-8d3c-0f5a4bd3c0a1',
  cluster: 'prod-eu-1',
  decided_at: '2026-01-10T10:00:01.000Z',
  sample_at: '2026-01-10T10:00:00.000Z',
  action: 'increase',
  old_size_mb: 64,
  new_size_mb: 320,
  forced_checkpoints: 4,
  checkpoint_timeout_sec: 60,
  algorithm: 'multiplicative',
  reason: '4 forced checkpoints',
  metadata: { delta: 4 },
};
const sizing = { active_profile: null, wal_rate_bytes_per_second: 1048576, wal_rate_ema_bytes_per_second: 1048576, required_size_mb: 64 };

describe('decision - typed optional fields of version 1', () => {
  it('decision - the typed fields are read as they are; a decision without them is as valid as before', () => {
    const typed = { ...base, primary_member: 'db1:5432', target_member: 'db2:5433', sizing_status: sizing };
    expect(DecisionV1.parse(typed)).toEqual(typed);
    expect(DecisionV1.parse(base)).toEqual(base);
    expect(DecisionV1.safeParse({ ...base, primary_member: 'not a member' }).success).toBe(false);
    // The sizing status is informational: a field a later decider adds is dropped, not a reason to refuse the decision.
    expect(DecisionV1.parse({ ...base, sizing_status: { ...sizing, trend: 'up' } }).sizing_status).toEqual(sizing);
  });

  it('decision - one published before the typed fields gets them from the metadata keys that carried them', () => {
    const old = { ...base, metadata: { delta: 4, primary_member: 'db1:5432', target_member: 'db2:5433', sizing_status: sizing } };
    expect(DecisionV1.parse(old)).toEqual({ ...old, primary_member: 'db1:5432', target_member: 'db2:5433', sizing_status: sizing });
  });

  it('decision - a metadata copy that is not sound is left in the metadata, never the reason a decision is refused', () => {
    const odd = { ...base, metadata: { primary_member: null, target_member: 42, sizing_status: { rate: 'fast' } } };
    expect(DecisionV1.parse(odd)).toEqual(odd);
  });

  it('decision - the typed field wins over a metadata copy that says otherwise', () => {
    const both = { ...base, primary_member: 'db1:5432', metadata: { primary_member: 'db9:5432' } };
    expect(DecisionV1.parse(both).primary_member).toBe('db1:5432');
  });
});

/**
 * Synthetic sample streams for the fault tests: many clusters whose
 * max_wal_size follows what the pure engine decides (as if each decision were
 * applied at once), with bursts of forced checkpoints, quiet runs, statistics
 * resets, standby periods and dry-run overrides, so that every kind of
 * decision occurs. The expected decisions are the pure engine's.
 */
import {
  evaluate,
  sampleMsgId,
  sampleSubject,
  initialState,
  policyFromEnv,
  resolvePolicy,
  type Decision,
  type Sample,
} from '@walrus/core';

export const T0 = Date.parse('2026-11-25T00:00:00Z');

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function policyOf(env: Record<string, string>) {
  const p = policyFromEnv(env);
  if (!p.ok) throw new Error(p.errors.join('; '));
  return p.policy;
}

export interface Fleet {
  /** Samples in publication order: round by round, every cluster once per round. */
  samples: Sample[];
  /** What the pure engine decides for them, decided_at left out. */
  expected: Array<Omit<Decision, 'decided_at'>>;
}

export function sampleOf(cluster: string, sec: number, requested: number, sizeMb: number, over: Partial<Sample> = {}): Sample {
  return {
    v: 1,
    cluster,
    collected_at: new Date(T0 + sec * 1000).toISOString(),
    server_version_num: 170000,
    in_recovery: false,
    checkpoints_requested: requested,
    checkpoints_timed: Math.floor(sec / 60),
    stats_reset: null,
    wal_lsn: '0/1000000',
    wal_bytes: 16777216 + sec * 1000,
    max_wal_size_mb: sizeMb,
    checkpoint_timeout_s: 60,
    checkpoint_completion_target: 0.9,
    settings: {},
    ...over,
  };
}

export function buildFleet(opts: { clusters: number; rounds: number; env: Record<string, string>; seed?: number; prefix?: string }): Fleet {
  const rnd = random(opts.seed ?? 7);
  const defaults = policyOf(opts.env);
  const samples: Sample[] = [];
  const expected: Fleet['expected'] = [];
  const st = Array.from({ length: opts.clusters }, (_, i) => ({
    id: `${opts.prefix ?? 'fleet'}-${String(i).padStart(3, '0')}`,
    state: initialState(),
    requested: Math.floor(rnd() * 100),
    size: 256,
    dryRunFrom: 2 + Math.floor(rnd() * opts.rounds),
  }));
  for (let r = 0; r < opts.rounds; r++) {
    for (const c of st) {
      const x = rnd();
      // Bursts of forced checkpoints, quiet runs, now and then a reset or a standby period.
      if (x < 0.35) c.requested += 2 + Math.floor(rnd() * 6);
      else if (x < 0.4) c.requested = Math.floor(rnd() * 3);
      else if (x < 0.5) c.requested += 1;
      const settings: Record<string, string> = r >= c.dryRunFrom && r < c.dryRunFrom + 3 ? { 'walrus.dry_run': 'on' } : {};
      const s = sampleOf(c.id, r * 60, c.requested, c.size, { settings, in_recovery: rnd() < 0.03 });
      samples.push(s);
      const { policy } = resolvePolicy(defaults, s.settings);
      const result = evaluate({ state: c.state, sample: s, policy, now: new Date(T0).toISOString() });
      c.state = result.state;
      if (result.decision) {
        const { decided_at: _ignored, ...rest } = result.decision;
        expected.push(rest);
        if (['increase', 'decrease', 'capped'].includes(result.decision.action)) c.size = result.decision.new_size_mb;
      }
    }
  }
  return { samples, expected };
}

// Publishing as the collector does is @walrus/harness's, shared with bench:fleet.
export { collectorLikePublisher } from '@walrus/harness';

/*
 * Builders for the engine's unit tests: a sample or a state in one line, with
 * time as seconds after T0, so a test reads as the scenario it checks.
 * Not exported from mod.ts: other packages' tests import them as
 * `@walrus/core/testing`.
 */
import { DEFAULT_POLICY } from '../config/params.js';
import type { Policy } from '../config/policy.js';
import { evaluate } from '../engine/evaluate.js';
import type { EvaluateResult } from '../engine/evaluation.js';
import { type ClusterState, initialState } from '../engine/state/current.js';
import type { Sample } from '../schemas.js';

export const T0 = Date.parse('2025-01-01T00:00:00.000Z');
export const NOW = '2025-06-01T12:00:00.000Z';

/** The ISO time `sec` seconds after T0. */
export const at = (sec: number): string => new Date(T0 + sec * 1000).toISOString();

export interface SampleSpec {
  /** cumulative requested checkpoints */
  requested?: number;
  /** seconds after T0 */
  at?: number;
  /** max_wal_size in MB */
  size?: number;
  recovery?: boolean;
  cluster?: string;
  walBytes?: number;
  timeout?: number;
  settings?: Record<string, string>;
  /** The member the sample names (host:port), and its timeline. */
  member?: string;
  timeline?: number;
}

/**
 * A complete sample: a quiet PostgreSQL 17 primary at T0 (no checkpoints,
 * max_wal_size 1 GB, checkpoint_timeout 5 min), with `fields` on top. For
 * tests that state sample fields directly, e.g. absolute times.
 */
export function sampleWith(fields: Partial<Sample> = {}): Sample {
  return {
    v: 1,
    cluster: 'pg-test',
    collected_at: at(0),
    server_version_num: 170000,
    in_recovery: false,
    checkpoints_requested: 0,
    checkpoints_timed: 0,
    stats_reset: null,
    wal_lsn: '0/16B3748',
    wal_bytes: 23803720,
    max_wal_size_mb: 1024,
    checkpoint_timeout_s: 300,
    checkpoint_completion_target: 0.9,
    settings: {},
    ...fields,
  };
}

export function sample(spec: SampleSpec = {}): Sample {
  return sampleWith({
    ...(spec.cluster !== undefined ? { cluster: spec.cluster } : {}),
    collected_at: at(spec.at ?? 0),
    in_recovery: spec.recovery ?? false,
    checkpoints_requested: spec.requested ?? 0,
    ...(spec.walBytes !== undefined ? { wal_bytes: spec.walBytes } : {}),
    max_wal_size_mb: spec.size ?? 1024,
    checkpoint_timeout_s: spec.timeout ?? 300,
    settings: spec.settings ?? {},
    ...(spec.member !== undefined ? { member: spec.member } : {}),
    ...(spec.timeline !== undefined ? { timeline: spec.timeline } : {}),
  });
}

export function policy(overrides: Partial<Policy> = {}): Policy {
  return { ...DEFAULT_POLICY, ...overrides };
}

/** A state right after a baseline sample (requested = 0 at T0), plus overrides. */
export function baselined(overrides: Partial<ClusterState> = {}): ClusterState {
  return { ...initialState(), prevRequested: 0, lastSampleAt: at(0), prevWalBytes: 0, ...overrides };
}

/** Evaluates one sample against a state (the rules alone: engine/step.ts adds policy resolution, clock guards and alerts). */
export function evaluateOne(
  state: ClusterState,
  s: Sample,
  p: Policy = policy(),
  extra: { bypassRateLimits?: boolean; now?: string } = {},
): EvaluateResult {
  return evaluate({ state, sample: s, policy: p, now: extra.now ?? NOW, bypassRateLimits: extra.bypassRateLimits });
}

/** Evaluates samples in order from `state`, returning every result and the final state. */
export function run(
  samples: Sample[],
  p: Policy = policy(),
  state: ClusterState = initialState(),
  now: string = NOW,
): { results: EvaluateResult[]; state: ClusterState } {
  const results: EvaluateResult[] = [];
  let current = state;
  for (const s of samples) {
    const r = evaluate({ state: current, sample: s, policy: p, now });
    results.push(r);
    current = r.state;
  }
  return { results, state: current };
}

import {
  evaluate,
  initialState,
  isExecutable,
  resolvePolicy,
  type Decision,
  type AlgorithmName,
  type OutcomeKind,
  type Policy,
  type Sample,
} from '@walrus/core';

export interface SimulatedStep {
  sampleAt: string;
  /** max_wal_size the algorithm would have been running with at this sample. */
  sizeMb: number;
  outcome: OutcomeKind;
  decision: Decision | null;
  walRateBytesPerSec: number | null;
  requiredSizeMb: number | null;
  profile: string | null;
}

export interface Simulation {
  algorithm: AlgorithmName;
  cluster: string;
  steps: SimulatedStep[];
  summary: {
    samples: number;
    increases: number;
    decreases: number;
    skipped: number;
    dryRuns: number;
    forcedCheckpoints: number;
    finalSizeMb: number;
    peakSizeMb: number;
    lastRequiredSizeMb: number | null;
  };
}

export interface ReplayOptions {
  algorithm: AlgorithmName;
  /** Service defaults (WALRUS_* of the environment); each sample's own walrus.* settings overlay them. */
  defaults: Policy;
  /** Parameters set on the command line (--set walrus.x=v), above the samples' settings. */
  overrides: Record<string, string>;
  /**
   * follow (default): each sample is evaluated with the max_wal_size the
   * algorithm itself would have set so far, so its decisions chain;
   * recorded: with the size the cluster really had.
   */
  follow: boolean;
}

/**
 * Runs the engine over one cluster's recorded samples, as the decider would
 * have, with `algorithm` forced. The forced-checkpoint counts are the ones
 * recorded: under another size there would have been other counts, so a
 * simulation compares reactions, it does not predict checkpoints.
 */
export function replay(samples: readonly Sample[], o: ReplayOptions): Simulation {
  let state = initialState();
  let size: number | null = null;
  const steps: SimulatedStep[] = [];
  let prevRequested: number | null = null;
  let forced = 0;
  for (const recorded of samples) {
    const current: number = o.follow && size !== null ? size : recorded.max_wal_size_mb;
    const sample: Sample = { ...recorded, max_wal_size_mb: current };
    const { policy } = resolvePolicy(o.defaults, { ...recorded.settings, ...o.overrides });
    const result = evaluate({ state, sample, policy: { ...policy, algorithm: o.algorithm }, now: recorded.collected_at });
    if (result.outcome.kind === 'ignored_old_sample') continue;
    state = result.state;
    if (prevRequested !== null && recorded.checkpoints_requested >= prevRequested) forced += recorded.checkpoints_requested - prevRequested;
    prevRequested = recorded.checkpoints_requested;
    const d = result.decision;
    size = d && isExecutable(d.action) ? d.new_size_mb : current;
    steps.push({
      sampleAt: recorded.collected_at,
      sizeMb: current,
      outcome: result.outcome.kind,
      decision: d,
      walRateBytesPerSec: result.insight?.walRateBytesPerSec ?? null,
      requiredSizeMb: result.insight?.requiredSizeMb ?? null,
      profile: result.insight?.profile ?? null,
    });
  }
  const decisions = steps.flatMap((s) => (s.decision ? [s.decision] : []));
  const sizes = [...steps.map((s) => s.sizeMb), ...(size !== null ? [size] : [])];
  return {
    algorithm: o.algorithm,
    cluster: samples[0]?.cluster ?? '',
    steps,
    summary: {
      samples: steps.length,
      increases: decisions.filter((d) => d.action === 'increase' || d.action === 'capped').length,
      decreases: decisions.filter((d) => d.action === 'decrease').length,
      skipped: decisions.filter((d) => d.action === 'skipped').length,
      dryRuns: decisions.filter((d) => d.action === 'dry_run').length,
      forcedCheckpoints: forced,
      finalSizeMb: size ?? 0,
      peakSizeMb: sizes.length > 0 ? Math.max(...sizes) : 0,
      lastRequiredSizeMb: [...steps].reverse().find((s) => s.requiredSizeMb !== null)?.requiredSizeMb ?? null,
    },
  };
}

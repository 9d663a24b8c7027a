import { initialState, isExecutable, step, type AlgorithmName, type Decision, type Policy, type Sample, type StepOutcomeKind } from '@walrus/core';

export interface SimulatedStep {
  sampleAt: string;
  /** max_wal_size the algorithm would have been running with at this sample. */
  sizeMb: number;
  outcome: StepOutcomeKind;
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
  for (const [i, recorded] of samples.entries()) {
    const current: number = o.follow && size !== null ? size : recorded.max_wal_size_mb;
    // The command line's parameters and the algorithm are set on the cluster, above its own settings.
    const settings = { ...recorded.settings, ...o.overrides, 'walrus.algorithm': o.algorithm };
    const sample: Sample = { ...recorded, max_wal_size_mb: current, settings };
    // As the decider would have, each sample evaluated when it was collected; a replay has no clock of its own to guard.
    const at = Date.parse(recorded.collected_at);
    const result = step({ state, sample, defaults: o.defaults, nowMs: at, maxSkewMs: Infinity, stored: { seq: i + 1, atMs: at } });
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

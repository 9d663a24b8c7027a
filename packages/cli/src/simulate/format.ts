import { formatTable } from '@walrus/runtime';
import type { Simulation } from './replay.js';

const MB = 1024 * 1024;

/** One line per algorithm, then (with --decisions) each decision. */
export function formatSimulations(sims: readonly Simulation[], withDecisions: boolean): string {
  const first = sims[0];
  if (!first) return 'no algorithm simulated\n';
  const from = first.steps[0]?.sampleAt ?? '-';
  const to = first.steps.at(-1)?.sampleAt ?? '-';
  const out: string[] = [
    `cluster ${first.cluster}: ${first.summary.samples} samples from ${from} to ${to}, ${first.summary.forcedCheckpoints} requested checkpoints recorded`,
    '',
    formatTable(
      ['algorithm', 'increases', 'decreases', 'skipped', 'dry runs', 'final MB', 'peak MB', 'required MB (last interval)'],
      sims.map((s) => [
        s.algorithm,
        String(s.summary.increases),
        String(s.summary.decreases),
        String(s.summary.skipped),
        String(s.summary.dryRuns),
        String(s.summary.finalSizeMb),
        String(s.summary.peakSizeMb),
        s.summary.lastRequiredSizeMb === null ? '-' : String(s.summary.lastRequiredSizeMb),
      ]),
    ),
  ];
  if (withDecisions) {
    for (const s of sims) {
      out.push('', `${s.algorithm}:`);
      const rows = s.steps.flatMap(({ decision: d, sampleAt, walRateBytesPerSec }) =>
        d === null
          ? []
          : [[sampleAt, d.action, `${d.old_size_mb} -> ${d.new_size_mb}`, walRateBytesPerSec === null ? '-' : (walRateBytesPerSec / MB).toFixed(2), d.reason]],
      );
      out.push(rows.length === 0 ? '  (no decisions)' : formatTable(['sample_at', 'action', 'MB', 'WAL MB/s', 'reason'], rows));
    }
  }
  out.push(
    '',
    'Checkpoint counts are replayed as recorded: a different size would have changed them. Compare how each algorithm reacts, not predicted checkpoints.',
  );
  return `${out.join('\n')}\n`;
}

import { writeFile } from 'node:fs/promises';
import { policyFromEnv, type Sample } from '@walrus/core';
import { parseSimulateArgs, SIMULATE_USAGE, SimulateUsageError } from './args.js';
import { formatSimulations } from './format.js';
import { readSamplesFile, readSamplesStream } from './read-samples.js';
import { replay } from './replay.js';

export { SIMULATE_USAGE } from './args.js';
export { replay, type Simulation, type SimulatedStep, type ReplayOptions } from './replay.js';

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/**
 * `walrus simulate`: returns the exit code (0 done, 64 usage, 78 bad
 * configuration, 1 nothing to replay).
 */
export async function runSimulate(argv: string[], env: Record<string, string | undefined>, io: Io): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(`${SIMULATE_USAGE}\n`);
    return 0;
  }
  let args;
  try {
    args = parseSimulateArgs(argv, env);
  } catch (err) {
    if (err instanceof SimulateUsageError) {
      io.stderr(`walrus simulate: ${err.message}\n\n${SIMULATE_USAGE}\n`);
      return 64;
    }
    throw err;
  }
  const defaults = policyFromEnv(env);
  if (!defaults.ok) {
    io.stderr(`walrus simulate: invalid configuration:\n${defaults.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return 78;
  }

  const samples: Sample[] = [];
  const invalid: string[] = [];
  for (const file of args.files) {
    const r = await readSamplesFile(file);
    samples.push(...r.samples);
    invalid.push(...r.invalid);
  }
  if (args.cluster !== null) {
    const r = await readSamplesStream(args.natsUrl, args.cluster, args.limit);
    samples.push(...r.samples);
    invalid.push(...r.invalid);
  }
  for (const line of invalid.slice(0, 20)) io.stderr(`walrus simulate: skipped ${line}\n`);
  if (invalid.length > 20) io.stderr(`walrus simulate: skipped ${invalid.length - 20} more\n`);

  const clusters = [...new Set(samples.map((s) => s.cluster))];
  if (samples.length === 0) {
    io.stderr('walrus simulate: no samples to replay\n');
    return 1;
  }
  if (args.exportPath !== null) await writeFile(args.exportPath, samples.map((s) => JSON.stringify(s)).join('\n') + '\n');

  const results = [];
  for (const cluster of clusters) {
    // Each cluster on its own, in sample time order (files may be concatenated out of order).
    const own = samples.filter((s) => s.cluster === cluster).sort((a, b) => Date.parse(a.collected_at) - Date.parse(b.collected_at));
    const sims = args.algorithms.map((algorithm) => replay(own, { algorithm, defaults: defaults.policy, overrides: args.overrides, follow: args.follow }));
    results.push(...sims);
    if (!args.json) io.stdout(formatSimulations(sims, args.decisions));
  }
  if (args.json) {
    io.stdout(
      `${JSON.stringify(
        results.map((s) => ({
          cluster: s.cluster,
          algorithm: s.algorithm,
          summary: s.summary,
          decisions: s.steps.flatMap((st) => (st.decision ? [st.decision] : [])),
        })),
        null,
        2,
      )}\n`,
    );
  }
  return 0;
}

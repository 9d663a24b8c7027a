import { parseArgs } from 'node:util';
import { ALGORITHM_NAMES, isAlgorithmName, type AlgorithmName } from '@walrus/core';

export const SIMULATE_USAGE = `Usage: walrus simulate [--file SAMPLES.jsonl] [--cluster ID [--nats URL]] [options]

Replays recorded samples through the decision engine and prints what each
algorithm would have decided, so that algorithms can be compared on a real
workload before switching. Nothing is published or changed.

Sources (at least one):
  --file PATH          a JSON-lines file of Sample v1 (e.g. saved with
                       'nats sub walrus.sample.ID' or exported by this command)
  --cluster ID         read the cluster's samples from the WALRUS_SAMPLES stream
  --nats URL           NATS server for --cluster (default: NATS_URL or nats://127.0.0.1:4222)
  --limit N            at most N samples from the stream (default 100000)

Options:
  --algorithm LIST     comma-separated, or 'all' (default: all)
  --set NAME=VALUE     a walrus.* parameter for the replay, e.g. --set walrus.cooldown_sec=0 (repeatable)
  --recorded           evaluate with the max_wal_size each sample recorded, instead
                       of the size the simulated algorithm would have set
  --json               machine-readable output
  --decisions          list every decision (the table shows the summary only)
  --export PATH        also write the samples read, as JSON lines

Service defaults come from the WALRUS_* environment variables, as for the decider;
each sample's own walrus.* settings overlay them, --set overlays both.`;

export interface SimulateArgs {
  files: string[];
  cluster: string | null;
  natsUrl: string;
  limit: number;
  algorithms: AlgorithmName[];
  overrides: Record<string, string>;
  follow: boolean;
  json: boolean;
  decisions: boolean;
  exportPath: string | null;
}

export class SimulateUsageError extends Error {
  override name = 'SimulateUsageError';
}

export function parseSimulateArgs(argv: string[], env: Record<string, string | undefined>): SimulateArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        file: { type: 'string', multiple: true },
        cluster: { type: 'string' },
        nats: { type: 'string' },
        limit: { type: 'string' },
        algorithm: { type: 'string' },
        set: { type: 'string', multiple: true },
        recorded: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        decisions: { type: 'boolean', default: false },
        export: { type: 'string' },
      },
    });
  } catch (err) {
    throw new SimulateUsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  const files = v.file ?? [];
  if (files.length === 0 && v.cluster === undefined) throw new SimulateUsageError('give --file PATH and/or --cluster ID');
  const wanted = (v.algorithm ?? 'all').split(',').map((a) => a.trim().toLowerCase());
  const algorithms: AlgorithmName[] = [];
  for (const a of wanted) {
    if (a === 'all') algorithms.push(...ALGORITHM_NAMES);
    else if (isAlgorithmName(a)) algorithms.push(a);
    else throw new SimulateUsageError(`--algorithm: unknown algorithm ${JSON.stringify(a)} (allowed ${ALGORITHM_NAMES.join(', ')}, all)`);
  }
  const overrides: Record<string, string> = {};
  for (const item of v.set ?? []) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? '' : item.slice(0, eq).trim();
    if (!/^walrus\.[a-z_]+$/.test(name)) throw new SimulateUsageError(`--set: expected walrus.NAME=VALUE (got ${JSON.stringify(item)})`);
    overrides[name] = item.slice(eq + 1);
  }
  const limit = v.limit === undefined ? 100_000 : Number(v.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new SimulateUsageError(`--limit: a positive integer (got ${JSON.stringify(v.limit)})`);
  return {
    files,
    cluster: v.cluster ?? null,
    natsUrl: v.nats ?? env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
    limit,
    algorithms: [...new Set(algorithms)],
    overrides,
    follow: !v.recorded,
    json: v.json,
    decisions: v.decisions,
    exportPath: v.export ?? null,
  };
}

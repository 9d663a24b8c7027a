import { parseArgs } from 'node:util';

export interface FleetOptions {
  clusters: number;
  rounds: number;
  /** Throughput runs per process count (interleaved 1, 2, 1, 2, …); the median is reported, with the range. */
  repeat: number;
  rate: number;
  seconds: number;
  collectorEntries: number;
  collectorServers: number;
  collectorSeconds: number;
  skipCollector: boolean;
  skipDeciders: boolean;
  skipApplier: boolean;
  skipRegistry: boolean;
  /** (f): clusters registered, PostgreSQL servers behind PgBouncer, collectors, their interval, the steady phase measured. */
  registryClusters: number;
  registryServers: number;
  registryCollectors: number;
  registryIntervalSec: number;
  registrySteadySec: number;
  /** WALRUS_COLLECTOR_CONCURRENCY of the registry's collectors. */
  registryConcurrency: number;
  /** Directory for the deciders' V8 CPU profiles (--cpu-prof), or null. */
  profileDir: string | null;
}

const COUNTS = {
  clusters: 10_000,
  rounds: 3,
  repeat: 3,
  rate: 1000,
  seconds: 10,
  'collector-entries': 1000,
  'collector-servers': 2,
  'collector-seconds': 60,
  'registry-clusters': 10_000,
  'registry-servers': 2,
  'registry-collectors': 3,
  'registry-interval': 60,
  'registry-seconds': 120,
  'registry-concurrency': 16,
} as const;

const ALLOWED =
  '--clusters --rounds --repeat --rate --seconds --collector-entries --collector-servers --collector-seconds --registry-clusters --registry-servers --registry-collectors --registry-interval --registry-seconds --registry-concurrency --skip-collector --skip-deciders --skip-applier --skip-registry --profile DIR';

/** The command line of `pnpm bench:fleet`; throws an Error naming the bad option. */
export function parseFleetOptions(argv: readonly string[]): FleetOptions {
  let values;
  try {
    ({ values } = parseArgs({
      // `pnpm bench:fleet -- --clusters 100` passes the `--` on; take it as nothing.
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ...(Object.fromEntries(Object.keys(COUNTS).map((name) => [name, { type: 'string' }])) as Record<keyof typeof COUNTS, { type: 'string' }>),
        'skip-collector': { type: 'boolean', default: false },
        'skip-deciders': { type: 'boolean', default: false },
        'skip-applier': { type: 'boolean', default: false },
        'skip-registry': { type: 'boolean', default: false },
        profile: { type: 'string' },
      },
    }));
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)} (allowed: ${ALLOWED})`, { cause: err });
  }
  const count = (name: keyof typeof COUNTS): number => {
    const text = values[name];
    if (text === undefined) return COUNTS[name];
    const v = Number(text);
    if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name}: a positive integer is required (got ${text})`);
    return v;
  };
  return {
    clusters: count('clusters'),
    rounds: count('rounds'),
    repeat: count('repeat'),
    rate: count('rate'),
    seconds: count('seconds'),
    collectorEntries: count('collector-entries'),
    collectorServers: count('collector-servers'),
    collectorSeconds: count('collector-seconds'),
    skipCollector: values['skip-collector'],
    skipDeciders: values['skip-deciders'],
    skipApplier: values['skip-applier'],
    skipRegistry: values['skip-registry'],
    registryClusters: count('registry-clusters'),
    registryServers: count('registry-servers'),
    registryCollectors: count('registry-collectors'),
    registryIntervalSec: count('registry-interval'),
    registrySteadySec: count('registry-seconds'),
    registryConcurrency: count('registry-concurrency'),
    profileDir: values.profile ?? null,
  };
}

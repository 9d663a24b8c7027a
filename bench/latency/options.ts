import { parseArgs } from 'node:util';
import { PG_VERSIONS, type PgVersion } from '@walrus/servers';

export interface LatencyOptions {
  /** Measured decisions (the issue asks for at least 200). */
  rounds: number;
  /** Decisions before the measured ones, not counted (JIT, plan caches, first connections). */
  warmup: number;
  /** readSample calls timed for the collector's database time. */
  reads: number;
  /** ALTER SYSTEM + reload cycles without walrus, for PostgreSQL's own share. */
  floor: number;
  pg: PgVersion;
  /** Idle time between rounds, so each starts from a quiet system as a real sample interval would. */
  gapMs: number;
  /** A round that takes longer than this is an error, not a figure. */
  timeoutMs: number;
  /** The statement the observer polls (see OBSERVER_SQL). */
  observer: Observer;
}

export const OBSERVERS = ['pg_settings', 'current_setting'] as const;
export type Observer = (typeof OBSERVERS)[number];

/**
 * Both read the session's own GUC value, which a backend updates when it
 * handles the reload's SIGHUP at the start of its next command. pg_settings is
 * what the applier reads back, but it materialises every setting (about 1 ms
 * a statement); current_setting() is a tenth of that, so it watches more
 * finely and takes less CPU from the parties being measured.
 */
export const OBSERVER_SQL: Record<Observer, string> = {
  pg_settings: "SELECT setting FROM pg_settings WHERE name = 'max_wal_size'",
  current_setting: "SELECT (pg_size_bytes(current_setting('max_wal_size')) / 1048576)::text AS setting",
};

export class UsageError extends Error {
  override name = 'UsageError';
}

/** The decider allows this many changes per hour (WALRUS_MAX_CHANGES_PER_HOUR's ceiling); every round is one. */
export const MAX_DECISIONS = 1000;

export const USAGE = `usage: pnpm bench:latency [options]

  --rounds N       measured decisions (default 200)
  --warmup N       decisions before them, not counted (default 10)
  --reads N        collector readSample calls to time (default 500)
  --floor N        ALTER SYSTEM + reload cycles without walrus, for PostgreSQL's
                   own share of the time (default 100, 0 = skip)
  --pg V           PostgreSQL major version, one of ${PG_VERSIONS.join(', ')} (default 17)
  --gap-ms N       idle time between rounds (default 20)
  --timeout-ms N   a round slower than this aborts the run (default 10000)
  --observer S     how the observer session polls max_wal_size: ${OBSERVERS.join(' or ')}
                   (default pg_settings)
  --help           this text`;

function int(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name}: must be an integer from ${min} to ${max} (got ${JSON.stringify(text)})`);
  }
  return value;
}

/** Parses the command line; null means --help. */
export function parseOptions(argv: readonly string[]): LatencyOptions | null {
  let parsed;
  try {
    parsed = parseArgs({
      // `pnpm bench:latency -- --rounds 300` passes the `--` on; take it as nothing.
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        rounds: { type: 'string' },
        warmup: { type: 'string' },
        reads: { type: 'string' },
        floor: { type: 'string' },
        pg: { type: 'string' },
        'gap-ms': { type: 'string' },
        'timeout-ms': { type: 'string' },
        observer: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) return null;
  const pg = int('pg', v.pg, 17, 15, 18) as PgVersion;
  const rounds = int('rounds', v.rounds, 200, 1, MAX_DECISIONS);
  const warmup = int('warmup', v.warmup, 10, 0, MAX_DECISIONS);
  if (rounds + warmup > MAX_DECISIONS) {
    throw new UsageError(`--rounds + --warmup: at most ${MAX_DECISIONS} decisions fit in the decider's hourly limit (got ${rounds + warmup})`);
  }
  const observer = v.observer ?? 'pg_settings';
  if (!(OBSERVERS as readonly string[]).includes(observer)) {
    throw new UsageError(`--observer: must be one of ${OBSERVERS.join(', ')} (got ${JSON.stringify(observer)})`);
  }
  return {
    observer: observer as Observer,
    rounds,
    warmup,
    reads: int('reads', v.reads, 500, 1, 1_000_000),
    floor: int('floor', v.floor, 100, 0, 100_000),
    pg,
    gapMs: int('gap-ms', v['gap-ms'], 20, 0, 60_000),
    timeoutMs: int('timeout-ms', v['timeout-ms'], 10_000, 100, 600_000),
  };
}

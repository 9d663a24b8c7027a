import { parseArgs } from 'node:util';

export const DEMO_PG_VERSIONS = [15, 16, 17, 18] as const;
export type DemoPgVersion = (typeof DEMO_PG_VERSIONS)[number];

/** The live page's port unless told otherwise: the control service's own default (METRICS_PORT of `walrus control`). */
export const DEMO_PAGE_PORT = 9105;

export interface DemoOptions {
  /** Stop by itself after this many seconds; null: run until Ctrl-C. */
  durationSec: number | null;
  version: DemoPgVersion;
  /** The live page's port (with metrics and health); a free one when it is taken; 0: any free port. */
  port: number;
  help: boolean;
}

export const DEMO_USAGE = `Usage: walrus demo [--duration <seconds>] [--version 15|16|17|18] [--port <n>]

Starts its own nats-server and PostgreSQL (the embedded builds the tests use)
with max_wal_size = 32MB and checkpoint_timeout = 30s, a write load, and the
walrus services in this process (as \`walrus all\` runs them), and shows live
how the forced checkpoints make walrus grow max_wal_size until checkpoints
are timed again, on the terminal and on the control service's live page
(http://127.0.0.1:${DEMO_PAGE_PORT}/, printed at start).
Ctrl-C stops and removes everything it started (a second Ctrl-C forces it).

  --duration <seconds>   stop by itself after that long (default: until Ctrl-C)
  --version <n>          PostgreSQL major version (default 17)
  --port <n>             port of the live page on 127.0.0.1 (default ${DEMO_PAGE_PORT};
                         any free port when it is taken, or with 0)
  --help                 this text
`;

/** Parses `walrus demo` arguments; every problem is reported at once. */
export function parseDemoArgs(argv: readonly string[]): { ok: true; options: DemoOptions } | { ok: false; problems: string[] } {
  let values: { duration?: string | undefined; version?: string | undefined; port?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { duration: { type: 'string' }, version: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return { ok: false, problems: [err instanceof Error ? err.message : String(err)] };
  }
  const problems: string[] = [];
  let durationSec: number | null = null;
  if (values.duration !== undefined) {
    const n = Number(values.duration);
    if (!/^\d+$/.test(values.duration.trim()) || !Number.isSafeInteger(n) || n < 1 || n > 7 * 86400) {
      problems.push(`--duration: not a whole number of seconds (got ${JSON.stringify(values.duration)}, allowed 1 .. 604800)`);
    } else {
      durationSec = n;
    }
  }
  let version: DemoPgVersion = 17;
  if (values.version !== undefined) {
    const found = DEMO_PG_VERSIONS.find((v) => String(v) === values.version?.trim());
    if (found === undefined) problems.push(`--version: not a supported PostgreSQL version (got ${JSON.stringify(values.version)}, allowed ${DEMO_PG_VERSIONS.join(', ')})`);
    else version = found;
  }
  let port = DEMO_PAGE_PORT;
  if (values.port !== undefined) {
    const n = Number(values.port.trim());
    if (!/^\d+$/.test(values.port.trim()) || n > 65535) problems.push(`--port: not a port number (got ${JSON.stringify(values.port)}, allowed 0 .. 65535, 0 = any free port)`);
    else port = n;
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, options: { durationSec, version, port, help: values.help === true } };
}

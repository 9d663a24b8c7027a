import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { decider } from '@walrus/decider';
import { historian } from '@walrus/historian';
import type { ServiceDefinition } from '@walrus/runtime';
import { runServices } from './run-services.js';

const USAGE = `walrus — keeps PostgreSQL's max_wal_size right-sized

Usage: walrus <command>

Services (configured by environment variables; see the README):
  collector   sample checkpoint statistics of the clusters in WALRUS_CLUSTERS
  decider     keep per-cluster state and decide resizes
  applier     carry out decisions on the clusters in WALRUS_CLUSTERS
  historian   keep the audit trail in walrus.history (HISTORY_DATABASE_URL)
  all         the four services in one process

  help        this text
`;

const SERVICES: Record<string, ServiceDefinition<unknown>> = { collector, decider, applier, historian };

/** METRICS_PORT defaults, distinct so that the services can share a host. */
const ALL_DEFAULT_METRICS_PORT = 9100;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    if (command === undefined) process.exitCode = 64;
    return;
  }
  if (rest.length > 0 && command in SERVICES) {
    process.stderr.write(`walrus ${command}: takes no arguments (got ${rest.join(' ')}); it is configured by environment variables\n`);
    process.exitCode = 64;
    return;
  }
  const single = SERVICES[command];
  if (single) return runServices(command, [single], single.defaultMetricsPort, process.env);
  if (command === 'all') {
    return runServices('all', [historian, decider, applier, collector], ALL_DEFAULT_METRICS_PORT, process.env);
  }
  process.stderr.write(`walrus: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  process.exitCode = 64;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // The logger may not exist yet (configuration, first connection): print plainly.
  process.stderr.write(`walrus: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

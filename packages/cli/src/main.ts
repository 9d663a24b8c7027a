import { ALL_DEFAULT_METRICS_PORT, ALL_SERVICES, SERVICES } from './services.js';
import { runServices } from './run-services.js';
import { grantsCommand } from './grants.js';
import { natsConfigCommand } from './nats-config/command.js';
import { CONTROL_COMMANDS, CONTROL_USAGE, runControlCommand } from './commands/mod.js';

const USAGE = `walrus — keeps PostgreSQL's max_wal_size right-sized

Usage: walrus <command>

Services (configured by environment variables; see docs/CONFIGURATION.md):
  collector   sample checkpoint statistics of the clusters in WALRUS_CLUSTERS
  decider     keep per-cluster state and decide resizes
  applier     carry out decisions on the clusters in WALRUS_CLUSTERS
  historian   keep the audit trail in walrus.history (HISTORY_DATABASE_URL)
  control     answer walrus.api.* requests and serve the live page
  all         all five services in one process

First look (needs nothing configured, no Docker; development install only):
  demo [--duration <seconds>] [--version 15|16|17|18]
              start a private nats-server and PostgreSQL (default 17) with a
              small max_wal_size and a write load, run the services as \`all\`
              does and show live how walrus grows max_wal_size until
              checkpoints are timed again; Ctrl-C (or the duration) stops and
              removes it all

Security (see docs/SECURITY.md):
  nats-config [options]  print the nats-server authorization for the clusters in
                         WALRUS_CLUSTERS, one user per service (--help for options)
  grants <role>          print the SQL giving <role> least privilege on a cluster

Algorithms:
  simulate [options]     replay recorded samples (a JSON-lines file, or the
                         WALRUS_SAMPLES stream) through any algorithm and print
                         what it would have decided (--help for options)

${CONTROL_USAGE}
  help        this text
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    if (command === undefined) process.exitCode = 64;
    return;
  }
  if (command === 'demo') {
    // Loaded on demand: the demo needs @walrus/servers, which production installs leave out.
    const { demoCommand } = await import('./demo/mod.js');
    process.exitCode = await demoCommand(rest, process.env);
    return;
  }
  // Object.hasOwn, not `in` or a plain lookup: `walrus toString` or
  // `walrus constructor` must be an unknown command, not an inherited property.
  if (rest.length > 0 && Object.hasOwn(SERVICES, command)) {
    process.stderr.write(`walrus ${command}: takes no arguments (got ${rest.join(' ')}); it is configured by environment variables\n`);
    process.exitCode = 64;
    return;
  }
  if (Object.hasOwn(CONTROL_COMMANDS, command)) {
    // Ctrl-C ends `walrus watch` cleanly (exit 0), like leaving LISTEN.
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    process.once('SIGTERM', () => abort.abort());
    process.exitCode = await runControlCommand(command, rest, process.env, undefined, abort.signal);
    return;
  }
  if (command === 'simulate') {
    const { runSimulate } = await import('./simulate/mod.js');
    const io = { stdout: (t: string) => void process.stdout.write(t), stderr: (t: string) => void process.stderr.write(t) };
    process.exitCode = await runSimulate(rest, process.env, io);
    return;
  }
  if (command === 'nats-config') {
    process.exitCode = natsConfigCommand(rest, process.env);
    return;
  }
  if (command === 'grants') {
    process.exitCode = grantsCommand(rest);
    return;
  }
  const single = Object.hasOwn(SERVICES, command) ? SERVICES[command] : undefined;
  if (single) return runServices(command, [single], single.defaultMetricsPort, process.env);
  if (command === 'all') return runServices('all', ALL_SERVICES, ALL_DEFAULT_METRICS_PORT, process.env);
  process.stderr.write(`walrus: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  process.exitCode = 64;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // The logger may not exist yet (configuration, first connection): print plainly.
  process.stderr.write(`walrus: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

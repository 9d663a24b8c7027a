import { analyzeCommand, recommendCommand } from './recommend.js';
import { clustersCommand } from './clusters.js';
import { CliError, connectCli, EXIT, type CliConnection } from './client.js';
import { historyCommand } from './history.js';
import { processOutput, type Output } from './output.js';
import { cleanupCommand, resetCommand } from './reset.js';
import { statusCommand } from './status.js';
import { watchCommand } from './watch.js';

export { EXIT } from './client.js';

type Command = (argv: string[], conn: () => Promise<CliConnection>, o: Output, signal?: AbortSignal) => Promise<number>;

/** The control commands: thin clients of the control service over NATS request/reply (watch: a plain subscription). */
export const CONTROL_COMMANDS: Record<string, Command> = {
  status: statusCommand,
  history: historyCommand,
  recommend: recommendCommand,
  analyze: analyzeCommand,
  reset: resetCommand,
  cleanup: cleanupCommand,
  watch: watchCommand,
  clusters: clustersCommand,
};

export const CONTROL_USAGE = `Control (talks to a running walrus over NATS; --json for scripts):
  status [cluster]               fleet summary, or one cluster's state and settings
  history [--cluster X] [--limit N]
                                 decisions and outcomes, newest first
  recommend <cluster>            what walrus would do now, changing nothing
  analyze <cluster> [--apply]    evaluate now; --apply carries it out, bypassing
                                 the rate limits, and records it in history
  reset <cluster>                clear the cluster's state (new baseline)
  cleanup [--retention-days N]   delete history older than the retention
  watch [cluster] [--count N]    print decisions and outcomes as they happen
  clusters add <cluster> <url> [--password-file PATH | --passfile PATH]
           [--param NAME=VALUE]... [--replace]
                                 register a cluster for the collectors and
                                 appliers that serve the registry
  clusters remove|show <cluster>, clusters list
                                 unregister, show, list (passwords never shown)
  Exit codes: 0 ok, 1 not found or failed, 2 usage or configuration,
  3 NATS or the control service cannot be reached.
`;

/** Runs one control command to its exit code; errors are printed, never thrown. */
export async function runControlCommand(
  name: string,
  argv: string[],
  env: Record<string, string | undefined>,
  o: Output = processOutput,
  signal?: AbortSignal,
): Promise<number> {
  const command = Object.hasOwn(CONTROL_COMMANDS, name) ? CONTROL_COMMANDS[name] : undefined;
  if (!command) {
    o.err(`walrus: unknown command ${JSON.stringify(name)}\n`);
    return EXIT.usage;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    o.out(CONTROL_USAGE);
    return EXIT.ok;
  }
  let conn: CliConnection | null = null;
  const connect = async () => (conn ??= await connectCli(env));
  try {
    return await command(argv, connect, o, signal);
  } catch (err) {
    if (err instanceof CliError) {
      o.err(`walrus ${name}: ${err.message}\n`);
      return err.code;
    }
    o.err(`walrus ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failed;
  } finally {
    const c = conn as CliConnection | null;
    await c?.nc.close().catch(() => undefined);
  }
}

import type * as ServersModule from '@walrus/servers';
import { DEMO_USAGE, parseDemoArgs } from './options.js';
import { runDemo, type DemoIo } from './run.js';

export { parseDemoArgs, DEMO_USAGE, type DemoOptions } from './options.js';

/**
 * `walrus demo [--duration <s>] [--version <n>]`; returns the exit code.
 * @walrus/servers (nats-server management and four PostgreSQL builds) is a
 * development dependency that production installs (the Docker image) leave
 * out, so it is imported only here, when the demo runs.
 */
export async function demoCommand(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  const parsed = parseDemoArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`walrus demo: ${parsed.problems.join('\n  ')}\n\n${DEMO_USAGE}`);
    return 64;
  }
  if (parsed.options.help) {
    process.stdout.write(DEMO_USAGE);
    return 0;
  }
  let servers: typeof ServersModule;
  try {
    servers = await import('@walrus/servers');
    servers.pgInstallDir(parsed.options.version);
  } catch (err) {
    process.stderr.write(
      `walrus demo: needs the development install: ${describeMissing(err)}.\n` +
        'The demo starts its own nats-server and embedded PostgreSQL from @walrus/servers, a development\n' +
        'dependency that production installs (the Docker image) leave out. Run it from a clone of the\n' +
        'repository after `pnpm install`: `pnpm walrus demo`.\n',
    );
    return 1;
  }
  const io: DemoIo = { out: process.stdout, err: process.stderr, env };
  const code = await runDemo(parsed.options, servers, io);
  // Everything is stopped by now; should a forgotten handle keep the event
  // loop alive, do not hang in the terminal.
  setTimeout(() => process.exit(code), 3_000).unref();
  return code;
}

function describeMissing(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') return `${e.message?.split('\n')[0] ?? 'a module is missing'}`;
  return err instanceof Error ? err.message : String(err);
}

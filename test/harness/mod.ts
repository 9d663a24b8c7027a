/**
 * Test harness: real nats-server and PostgreSQL (15-18) instances on free
 * 127.0.0.1 ports, in temporary directories, torn down by one cleanup
 * registry. Typical test file:
 *
 *   import { afterAll } from 'vitest';
 *   import { cleanupAll, startNats, startPostgres } from './harness/mod.js';
 *   afterAll(cleanupAll);
 *
 * The servers themselves are managed by `@walrus/servers` (shared with
 * `walrus demo`); this module chooses the tests' settings: directories named
 * walrus-test-* (under $WALRUS_TEST_TMPDIR when set), everything killed at
 * once on SIGINT/SIGTERM/SIGHUP, servers in the tests' process group.
 */
import * as servers from '@walrus/servers';
import { configureServers, type WaitOptions, type NatsOptions, type NatsServer, type PostgresCluster, type PostgresOptions, type Standby } from '@walrus/servers';
import { WAIT_DEFAULT_MS } from './deadline.js';
import { registerLogFile, snapshotLogFiles } from './logs.js';

configureServers({
  tempPrefix: 'walrus-test-',
  tempBase: process.env['WALRUS_TEST_TMPDIR'] || undefined,
  cleanupOnSignals: true,
  ownProcessGroup: false,
});

export { freePort, registerCleanup, WaitTimeoutError } from '@walrus/servers';
export { NATS_SERVER_BIN, PG_VERSIONS, type NatsServer, type PgVersion, type PostgresCluster } from '@walrus/servers';

// The servers as @walrus/servers starts them, with their logs registered for
// setup.ts (printed when a test fails) and read once more before a cleanup
// removes their directories.

/** Everything registered, newest first (servers.cleanupAll), after keeping their logs. */
export async function cleanupAll(): Promise<void> {
  snapshotLogFiles();
  await servers.cleanupAll();
}

function keepLogOnCleanup<T extends { cleanup(): Promise<void> }>(server: T): T {
  const cleanup = server.cleanup.bind(server);
  server.cleanup = async () => {
    snapshotLogFiles();
    await cleanup();
  };
  return server;
}

export async function startNats(options?: NatsOptions): Promise<NatsServer> {
  const nats = await servers.startNats(options);
  registerLogFile(`nats-server${options?.name ? ` ${options.name}` : ''} ${nats.url}`, nats.logFile, () => nats.running);
  return keepLogOnCleanup(nats);
}

export async function startPostgres(options: PostgresOptions): Promise<PostgresCluster> {
  const pg = await servers.startPostgres(options);
  registerLogFile(`PostgreSQL ${pg.version} on port ${pg.port}`, pg.logFile, () => pg.running);
  return keepLogOnCleanup(pg);
}

export async function createStandby(primary: PostgresCluster, options?: Omit<PostgresOptions, 'version'>): Promise<Standby> {
  const standby = await servers.createStandby(primary, options);
  registerLogFile(`PostgreSQL ${standby.version} standby on port ${standby.port}`, standby.logFile, () => standby.running);
  return keepLogOnCleanup(standby);
}

/** waitFor of @walrus/servers, giving up after WAIT_DEFAULT_MS unless the test says otherwise (see deadline.ts). */
export function waitFor<T>(predicate: () => T | Promise<T>, options: WaitOptions): Promise<NonNullable<T>> {
  return servers.waitFor(predicate, { ...options, timeoutMs: options.timeoutMs ?? WAIT_DEFAULT_MS });
}

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
import { configureServers } from '@walrus/servers';

configureServers({
  tempPrefix: 'walrus-test-',
  tempBase: process.env['WALRUS_TEST_TMPDIR'] || undefined,
  cleanupOnSignals: true,
  ownProcessGroup: false,
});

export { cleanupAll, cleanupAllSync, pendingCleanups, registerCleanup, type CleanupFn, type CleanupOptions } from '@walrus/servers';
export { freePort } from '@walrus/servers';
export { waitFor, WaitTimeoutError, type WaitOptions } from '@walrus/servers';
export { startNats, NATS_SERVER_BIN, type NatsOptions, type NatsServer } from '@walrus/servers';
export {
  createStandby,
  PG_VERSIONS,
  pgInstallDir,
  startPostgres,
  type PgVersion,
  type PostgresCluster,
  type PostgresOptions,
  type QueryOptions,
  type SettingValue,
  type Standby,
} from '@walrus/servers';
export { postgresRunAs, tempBase, tempRoot } from '@walrus/servers';

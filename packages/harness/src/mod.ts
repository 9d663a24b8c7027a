/**
 * Runs walrus for the integration tests (test/harness wraps it: logs of a
 * failed test, per-test stops) and the benchmarks: services in this process,
 * `walrus` commands as processes, pgbench load that follows the primary,
 * messages as walrus's own parts publish them. Nothing is configured when
 * it is imported; the servers these run against come from @walrus/servers,
 * whose process-wide choices (configureServers) the caller makes.
 */
export { WAIT_DEFAULT_MS } from './deadline.js';
export type { LogSource, OnLogSource } from './log-source.js';
export { publishJs, startInProcess, type InProcessOptions, type InProcessService } from './in-process.js';
export { startWalrus, type LogLine, type WalrusProcess, type WalrusProcessOptions } from './walrus-process.js';
export { DEBIAN_PGBENCH, prepareLeaderLoad, startLeaderLoad, type LeaderLoad, type LeaderLoadOptions } from './leader-load.js';
export { testDecision } from './messages.js';
export { collectorLikePublisher } from './publish.js';

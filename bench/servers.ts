import { tmpdir } from 'node:os';
import { configureServers, removeStaleTempRoots } from '@walrus/servers';

export const BENCH_TEMP_PREFIX = 'walrus-bench-';

/**
 * The benchmarks' choices for @walrus/servers, made by each main before it
 * starts anything: temporary roots named walrus-bench-* (under
 * $WALRUS_BENCH_TMPDIR when set, else /dev/shm when it has room), the
 * servers killed at once on SIGINT/SIGTERM/SIGHUP as a safety net under the
 * mains' own handlers; and the roots that killed runs left behind removed.
 */
export function setUpBenchServers(env: Record<string, string | undefined> = process.env): void {
  const tempBase = env['WALRUS_BENCH_TMPDIR'] || undefined;
  configureServers({ tempPrefix: BENCH_TEMP_PREFIX, tempBase, cleanupOnSignals: true, ownProcessGroup: false });
  removeStaleTempRoots(BENCH_TEMP_PREFIX, ['/dev/shm', tmpdir(), ...(tempBase ? [tempBase] : [])]);
}

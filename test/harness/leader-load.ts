import * as harness from '@walrus/harness';
import { DEBIAN_PGBENCH, type LeaderLoad, type LeaderLoadOptions } from '@walrus/harness';

export { prepareLeaderLoad, type LeaderLoad, type LeaderLoadOptions } from '@walrus/harness';

/** The pgbench the tests run: Debian's, unless PGBENCH names another. */
const PGBENCH_BIN = process.env['PGBENCH'] ?? DEBIAN_PGBENCH;

/** Write load that follows the primary (@walrus/harness's startLeaderLoad) with the tests' pgbench. */
export function startLeaderLoad(url: string, options: LeaderLoadOptions = {}): LeaderLoad {
  return harness.startLeaderLoad(url, { pgbench: PGBENCH_BIN, ...options });
}

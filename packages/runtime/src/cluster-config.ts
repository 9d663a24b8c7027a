import { readFileSync } from 'node:fs';
import { envInt } from './env.js';
import { parseClusterList, type ClusterEntry } from './clusters.js';

/** Where a collector or applier finds its clusters: a static list, or the registry shared with the others of its kind. */
export type ClusterSource = { kind: 'static'; entries: ClusterEntry[] } | { kind: 'registry' };

/**
 * `WALRUS_CLUSTERS`, or the file named by `WALRUS_CLUSTERS_FILE` (not
 * both); with neither, the registry (ARCHITECTURE §8).
 */
export function loadClusterSource(env: Record<string, string | undefined>): { source: ClusterSource | null; problems: string[] } {
  const inline = env.WALRUS_CLUSTERS?.trim();
  const file = env.WALRUS_CLUSTERS_FILE?.trim();
  if (inline && file) {
    return { source: null, problems: ['WALRUS_CLUSTERS: set together with WALRUS_CLUSTERS_FILE (got both, allowed one of them)'] };
  }
  if (!inline && !file) return { source: { kind: 'registry' }, problems: [] };
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return { source: null, problems: [`WALRUS_CLUSTERS_FILE: cannot read ${JSON.stringify(file)} (${(err as Error).message})`] };
    }
    const parsed = parseClusterList(text, 'WALRUS_CLUSTERS_FILE');
    if (parsed.problems.length === 0 && parsed.clusters.length === 0) {
      parsed.problems.push(`WALRUS_CLUSTERS_FILE: ${JSON.stringify(file)} lists no cluster (allowed <cluster>=<postgres URL> lines)`);
    }
    return parsed.problems.length > 0 ? { source: null, problems: parsed.problems } : { source: { kind: 'static', entries: parsed.clusters }, problems: [] };
  }
  const parsed = parseClusterList(inline ?? '', 'WALRUS_CLUSTERS');
  return parsed.problems.length > 0 ? { source: null, problems: parsed.problems } : { source: { kind: 'static', entries: parsed.clusters }, problems: [] };
}

/**
 * The connection variables of every service that connects to a monitored
 * cluster (collector, applier, control), declared once and spread into
 * each service's schema.
 */
export const connectTimeoutEnv = {
  /** Seconds to wait for a connection to a monitored cluster. */
  WALRUS_CONNECT_TIMEOUT_SEC: envInt(1, 300).default(10),
};
export const queryTimeoutEnv = {
  /** Statement timeout of the statistics queries, so a hung server cannot hold a connection. */
  WALRUS_QUERY_TIMEOUT_MS: envInt(100, 600_000).default(10_000),
};

import { readFileSync } from 'node:fs';
import { parseClusterList, type ClusterEntry } from './clusters.js';

/**
 * The clusters a collector or applier serves: `WALRUS_CLUSTERS` or the file
 * named by `WALRUS_CLUSTERS_FILE` (not both).
 */
export function loadClusters(env: Record<string, string | undefined>): { clusters: ClusterEntry[]; problems: string[] } {
  const inline = env.WALRUS_CLUSTERS?.trim();
  const file = env.WALRUS_CLUSTERS_FILE?.trim();
  if (inline && file) {
    return { clusters: [], problems: ['WALRUS_CLUSTERS: set together with WALRUS_CLUSTERS_FILE (got both, allowed one of them)'] };
  }
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return { clusters: [], problems: [`WALRUS_CLUSTERS_FILE: cannot read ${JSON.stringify(file)} (${(err as Error).message})`] };
    }
    const parsed = parseClusterList(text, 'WALRUS_CLUSTERS_FILE');
    if (parsed.problems.length === 0 && parsed.clusters.length === 0) {
      parsed.problems.push(`WALRUS_CLUSTERS_FILE: ${JSON.stringify(file)} lists no cluster (allowed <cluster>=<postgres URL> lines)`);
    }
    return parsed;
  }
  if (!inline) {
    return {
      clusters: [],
      problems: ['WALRUS_CLUSTERS: not set (got nothing, allowed <cluster>=<postgres URL>[,...], or WALRUS_CLUSTERS_FILE)'],
    };
  }
  return parseClusterList(inline, 'WALRUS_CLUSTERS');
}

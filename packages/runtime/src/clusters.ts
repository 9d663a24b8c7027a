import { isValidClusterId } from '@walrus/core';

export interface ClusterEntry {
  id: string;
  /** A postgres:// URL; may hold a password, so never log it unredacted. */
  url: string;
}

/**
 * Parses `<cluster>=<postgres URL>` pairs. Pairs are separated by commas or
 * new lines; a comma only separates when the next pair starts with
 * `<cluster id>=`, so multi-host URLs (`postgres://h1,h2/db`) survive.
 * Lines starting with `#` are comments (for WALRUS_CLUSTERS_FILE).
 * Returns every problem found, each naming `source`.
 */
export function parseClusterList(text: string, source: string): { clusters: ClusterEntry[]; problems: string[] } {
  const problems: string[] = [];
  const clusters: ClusterEntry[] = [];
  const seen = new Set<string>();
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const entries = lines.flatMap((l) => l.split(/,(?=\s*[A-Za-z0-9_-]{1,64}\s*=)/)).map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq < 0) {
      problems.push(`${source}: entry ${JSON.stringify(redactEntry(entry))} is not <cluster>=<postgres URL>`);
      continue;
    }
    const id = entry.slice(0, eq).trim();
    const url = entry.slice(eq + 1).trim();
    if (!isValidClusterId(id)) {
      problems.push(`${source}: cluster id ${JSON.stringify(id)} is invalid (allowed 1 to 64 characters of [A-Za-z0-9_-])`);
      continue;
    }
    if (!/^postgres(ql)?:\/\//.test(url)) {
      problems.push(`${source}: cluster ${id} has no postgres:// or postgresql:// URL`);
      continue;
    }
    if (seen.has(id)) {
      problems.push(`${source}: cluster ${id} is listed twice`);
      continue;
    }
    seen.add(id);
    clusters.push({ id, url });
  }
  return { clusters, problems };
}

function redactEntry(entry: string): string {
  return entry.replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:***@');
}

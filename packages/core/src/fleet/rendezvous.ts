/*
 * Which collector samples which cluster: rendezvous (highest-random-weight)
 * hashing of cluster ids over the live collectors. Every collector that
 * sees the same members computes the same owner for every cluster, with no
 * message exchanged; clusters spread evenly, and when a member joins or
 * leaves only the clusters it gains or loses move.
 */

/** FNV-1a over the UTF-16 code units, then murmur3's finaliser, so that close keys get far-apart weights. */
function weight(member: string, cluster: string): number {
  let h = 0x811c9dc5;
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  };
  mix(member);
  mix('\u0000');
  mix(cluster);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The member that owns `cluster` among `members` (null when there is none); ties go to the smaller id. */
export function ownerOf(cluster: string, members: readonly string[]): string | null {
  let best: string | null = null;
  let bestWeight = -1;
  for (const m of members) {
    const w = weight(m, cluster);
    if (w > bestWeight || (w === bestWeight && best !== null && m < best)) {
      best = m;
      bestWeight = w;
    }
  }
  return best;
}

/** The clusters of `clusters` that `member` owns among `members`. */
export function ownedBy(member: string, clusters: Iterable<string>, members: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of clusters) if (ownerOf(c, members) === member) out.push(c);
  return out;
}

/*
 * Membership of the collectors that share the registry, as pure rules (the
 * collector's fleet.ts does the I/O): each live collector heartbeats an
 * entry in the KV bucket `walrus_collectors` every lease/3, naming the
 * members it believes alive (its view). Liveness is judged from the times
 * the server stamped on those entries, never from one host's clock against
 * another's: see ServerClock.
 */

export const KV_COLLECTORS_BUCKET = 'walrus_collectors';

/** What a collector's heartbeat says, as its KV value. */
export interface MemberAnnouncement {
  v: 1;
  id: string;
  /** The live members this collector saw when it wrote, sorted: the view its samplers follow. */
  view: string[];
}

/** A heartbeat as seen through the watch: its announcement and the server's time of the write. */
export interface SeenMember {
  id: string;
  view: readonly string[];
  /** When the server stored it (ms since the epoch, the server's clock). */
  atMs: number;
}

/** The members whose last heartbeat is at most `leaseMs` old at `serverNowMs`, sorted. */
export function liveMembers(seen: Iterable<SeenMember>, serverNowMs: number, leaseMs: number): string[] {
  const live: string[] = [];
  for (const m of seen) if (serverNowMs - m.atMs <= leaseMs) live.push(m.id);
  return live.sort();
}

/** When the next of `seen` expires (server time, ms), or null. */
export function nextExpiry(seen: Iterable<SeenMember>, serverNowMs: number, leaseMs: number): number | null {
  let next: number | null = null;
  for (const m of seen) {
    const at = m.atMs + leaseMs;
    if (at >= serverNowMs && (next === null || at < next)) next = at;
  }
  return next;
}

export const sameView = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((m, i) => m === b[i]);

/**
 * Whether every other member of `view` has announced `view` itself. A
 * member stops the clusters it loses under a view before it announces that
 * view, so once all have announced it, each cluster has at most its one
 * owner under it sampling: a collector starts the clusters it gained only
 * then. Members outside the view are not waited for: their lease expired,
 * and a collector that cannot renew its lease stops sampling (self-fencing)
 * before the others can judge it gone.
 */
export function viewAgreed(self: string, view: readonly string[], seen: ReadonlyMap<string, SeenMember>): boolean {
  return view.every((m) => {
    if (m === self) return true;
    const s = seen.get(m);
    return s !== undefined && sameView(s.view, view);
  });
}

/**
 * The server's clock as far as one process can tell without comparing it
 * with its own: the latest server time seen on a heartbeat, advanced by the
 * process's monotonic clock since. It can only lag the server (by the
 * delivery delay), so a lease is judged expired a little late, never early.
 */
export class ServerClock {
  private base: { serverMs: number; monoMs: number } | null = null;

  /** A server time seen at the monotonic time `monoMs`. */
  observe(serverMs: number, monoMs: number): void {
    if (!Number.isFinite(serverMs)) return;
    if (this.base === null || serverMs - monoMs > this.base.serverMs - this.base.monoMs) this.base = { serverMs, monoMs };
  }

  /** The estimate at the monotonic time `monoMs`; null before any observation. */
  now(monoMs: number): number | null {
    return this.base === null ? null : this.base.serverMs + (monoMs - this.base.monoMs);
  }
}

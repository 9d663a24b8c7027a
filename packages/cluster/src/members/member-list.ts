import { readPatroniMembers, type PatroniMemberInfo } from '../patroni/rest.js';
import type { ClusterTopology, MemberEndpoint } from './cluster-url.js';

export interface Refreshed {
  members: readonly MemberEndpoint[];
  /** Names of the members that appeared and vanished with this refresh. */
  added: string[];
  removed: string[];
  /** Why the list could not be read (the previous list stays), or null. */
  error: string | null;
  /** What Patroni said of each member, when the list came from Patroni. */
  patroni: PatroniMemberInfo[] | null;
}

/** `host:port`, the IPv6 address in brackets: how a member Patroni names is named by walrus. */
export function memberName(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/**
 * The members of one cluster: those its URL lists, or, with
 * `walrus_members=patroni`, those Patroni's `GET /cluster` names, read again
 * on each `refresh()`. When Patroni cannot be read the last list stays:
 * losing the API must not make walrus forget a cluster's servers.
 */
export class MemberList {
  private list: MemberEndpoint[];

  constructor(
    readonly topology: ClusterTopology,
    private readonly timeoutMs: number,
  ) {
    this.list = [...topology.members];
  }

  get current(): readonly MemberEndpoint[] {
    return this.list;
  }

  get dynamic(): boolean {
    return this.topology.membersFrom === 'patroni' && this.topology.patroni !== null;
  }

  find(name: string): MemberEndpoint | undefined {
    return this.list.find((m) => m.name === name);
  }

  async refresh(): Promise<Refreshed> {
    const api = this.topology.patroni;
    if (!this.dynamic || !api) return { members: this.list, added: [], removed: [], error: null, patroni: null };
    let info: PatroniMemberInfo[];
    try {
      info = await readPatroniMembers(api, this.timeoutMs);
    } catch (err) {
      return { members: this.list, added: [], removed: [], error: err instanceof Error ? err.message : String(err), patroni: null };
    }
    if (info.length === 0) return { members: this.list, added: [], removed: [], error: 'Patroni GET /cluster lists no member with a host and port', patroni: info };
    const next = info.map((i): MemberEndpoint => {
      const name = memberName(i.host, i.port);
      return { name, host: i.host, port: i.port, url: this.topology.memberUrl(i.host, i.port) };
    });
    const before = new Set(this.list.map((m) => m.name));
    const after = new Set(next.map((m) => m.name));
    const added = next.filter((m) => !before.has(m.name)).map((m) => m.name);
    const removed = this.list.filter((m) => !after.has(m.name)).map((m) => m.name);
    this.list = next;
    return { members: next, added, removed, error: null, patroni: info };
  }
}

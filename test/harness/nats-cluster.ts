import { freePort, startNats, waitFor, type NatsServer } from './mod.js';

export interface NatsCluster {
  nodes: NatsServer[];
  /** Every node's client URL, comma-separated, as NATS_URL takes them. */
  url: string;
  /** The node leading a stream (or null while it has none). */
  streamLeader(stream: string): Promise<NatsServer | null>;
}

interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number; replicas?: Array<{ name: string; current: boolean }> };
}

/**
 * A JetStream cluster of `size` nats-server processes on loopback, routes
 * between them on fixed ports (so that a restarted node is found again),
 * resolved once every node sees a meta leader and its peers as current.
 * Forming a cluster takes a few seconds on NATS 2.9.
 */
export async function startNatsCluster(size = 3, name = 'walrus-test'): Promise<NatsCluster> {
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const names = routePorts.map((_, i) => `n${i + 1}`);
  const nodes = await Promise.all(
    routePorts.map((port, i) =>
      startNats({
        name: names[i]!,
        ready: 'listening',
        config: [
          'cluster {',
          `  name: ${name}`,
          `  listen: 127.0.0.1:${port}`,
          `  routes: [${routePorts.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}]`,
          '}',
        ].join('\n'),
      }),
    ),
  );
  await waitFor(
    async () => {
      // Every node knows the leader; only the leader lists its followers.
      const metas = await Promise.all(nodes.map(async (n) => ((await (await fetch(`${n.monitorUrl}/jsz`)).json()) as Jsz).meta_cluster));
      const leader = metas[0]?.leader;
      if (!leader || metas.some((m) => m?.leader !== leader)) return null;
      const lead = metas[names.indexOf(leader)];
      return (lead?.replicas ?? []).filter((r) => r.current).length >= size - 1 || null;
    },
    { what: `a meta leader on all ${size} JetStream nodes`, timeoutMs: 60_000, intervalMs: 250 },
  );
  return {
    nodes,
    url: nodes.map((n) => n.url).join(','),
    streamLeader: async (stream) => {
      for (const n of nodes.filter((x) => x.running)) {
        try {
          const r = await fetch(`${n.monitorUrl}/jsz?streams=true`);
          const jsz = (await r.json()) as { account_details?: Array<{ stream_detail?: Array<{ name: string; cluster?: { leader?: string } }> }> };
          for (const a of jsz.account_details ?? []) {
            const s = a.stream_detail?.find((d) => d.name === stream);
            const leader = s?.cluster?.leader;
            if (leader) return nodes[names.indexOf(leader)] ?? null;
          }
        } catch {
          // a node that is going away
        }
      }
      return null;
    },
  };
}

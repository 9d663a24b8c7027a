import { freePort, startNats, waitFor, type NatsServer } from './mod.js';
import { defined } from './defined.js';

export interface NatsCluster {
  /** The nodes started so far, in node order (n1, n2, …). */
  nodes: NatsServer[];
  /** Every node's client URL (started or not), comma-separated, as NATS_URL takes them. */
  url: string;
  /** Starts the nodes that `startFirst` left out. */
  startRest(): Promise<void>;
  /** Resolves once every node sees a meta leader and its peers as current. */
  waitFormed(): Promise<void>;
  /** The node leading a stream (or null while it has none). */
  streamLeader(stream: string): Promise<NatsServer | null>;
}

interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number; replicas?: Array<{ name: string; current: boolean }> };
}

export interface NatsClusterOptions {
  name?: string;
  /** Client ports (one per node), e.g. to start services on NATS_URL before any node exists; default: free ones. */
  clientPorts?: number[];
  /**
   * `formed` (default): resolve once every node sees a meta leader and its
   * peers as current. `listening`: as soon as the started nodes' client
   * ports are bound, while the cluster is still electing (`waitFormed` waits later).
   */
  ready?: 'formed' | 'listening';
  /**
   * Nodes started now (default all); `startRest()` starts the others. One
   * node of three has no quorum: JetStream cannot answer until another joins.
   */
  startFirst?: number;
}

/**
 * A JetStream cluster of `size` nats-server processes on loopback, with
 * fixed client and route ports (so that a restarted or late node is found
 * again). Forming a cluster takes a few seconds on NATS 2.9.
 */
export async function startNatsCluster(size = 3, opts: NatsClusterOptions = {}): Promise<NatsCluster> {
  const name = opts.name ?? 'walrus-test';
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const clientPorts = opts.clientPorts ?? (await Promise.all(Array.from({ length: size }, () => freePort())));
  const names = routePorts.map((_, i) => `n${i + 1}`);
  const nodes: NatsServer[] = [];
  const launch = async (i: number) => {
    nodes[i] = await startNats({
      name: defined(names[i]),
      ready: 'listening',
      port: defined(clientPorts[i]),
      config: [
        'cluster {',
        `  name: ${name}`,
        `  listen: 127.0.0.1:${routePorts[i]}`,
        `  routes: [${routePorts.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}]`,
        '}',
      ].join('\n'),
    });
  };
  const first = Math.min(size, opts.startFirst ?? size);
  await Promise.all(names.slice(0, first).map((_, i) => launch(i)));
  const startRest = async () => {
    await Promise.all(names.flatMap((_, i) => (nodes[i] ? [] : [launch(i)])));
  };
  const waitFormed = () =>
    waitFor(
      async () => {
        if (nodes.filter(Boolean).length < size) return null;
        // Every node knows the leader; only the leader lists its followers.
        const metas = await Promise.all(nodes.map(async (n) => ((await (await fetch(`${n.monitorUrl}/jsz`)).json()) as Jsz).meta_cluster));
        const leader = metas[0]?.leader;
        if (!leader || metas.some((m) => m?.leader !== leader)) return null;
        const lead = metas[names.indexOf(leader)];
        return (lead?.replicas ?? []).filter((r) => r.current).length >= size - 1 || null;
      },
      { what: `a meta leader on all ${size} JetStream nodes`, timeoutMs: 60_000, intervalMs: 250 },
    ).then(() => undefined);
  if (opts.ready !== 'listening' && first === size) await waitFormed();
  return {
    nodes,
    url: clientPorts.map((p) => `nats://127.0.0.1:${p}`).join(','),
    startRest,
    waitFormed,
    streamLeader: async (stream) => {
      for (const n of nodes.filter((x) => x?.running)) {
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

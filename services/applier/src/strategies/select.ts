import type { ClusterTopology } from '@walrus/cluster';
import { alterSystemStrategy } from './alter-system.js';
import { patroniStrategy } from './patroni.js';
import type { ApplyStrategy } from './types.js';

/**
 * The strategy of one cluster comes from its URL in WALRUS_CLUSTERS, read
 * by @walrus/cluster's parseClusterUrl (shared with the collector):
 *
 *   prod=postgres://walrus@node1,node2/postgres?walrus_apply=patroni&walrus_patroni_url=http://node1:8008,http://node2:8008
 *
 * with optional `walrus_patroni_user` / `walrus_patroni_password` (basic
 * auth). These `walrus_*` parameters never reach PostgreSQL.
 */
export function strategyFor(topology: ClusterTopology, timeoutMs: number): ApplyStrategy {
  if (topology.apply === 'patroni' && topology.patroni) return patroniStrategy({ api: topology.patroni, timeoutMs });
  return alterSystemStrategy;
}

import {
  ApiFailure,
  ClusterRequest,
  ClustersAddRequest,
  ClustersListRequest,
  parseRequest as parse,
  type ClustersListResult,
  type ClustersRemoveResult,
  type RegisteredCluster,
  type RegistryEntry,
} from '@walrus/core';
import { specFromRegistry, urlHasPassword } from '@walrus/cluster';
import { isWrongLastSequence, redactUrl, type ClusterRegistry, type Logger } from '@walrus/runtime';

/** What the control surface shows of an entry: never the password, whichever way it is given. */
export function shownEntry(cluster: string, entry: RegistryEntry, revision: number, storedMs: number): RegisteredCluster {
  return {
    cluster,
    url: redactUrl(entry.url),
    password: entry.password_file !== undefined ? 'password_file' : entry.passfile !== undefined ? 'passfile' : urlHasPassword(entry.url) ? 'url' : 'none',
    password_file: entry.password_file ?? null,
    passfile: entry.passfile ?? null,
    params: entry.params ?? {},
    labels: entry.labels ?? {},
    registered_at: new Date(storedMs).toISOString(),
    revision,
  };
}

/**
 * `walrus clusters add|remove|list|show` (ARCHITECTURE §8): the control
 * service is the only writer of the registry. An entry is checked as every
 * collector and applier will read it (its URL, its parameters, its password
 * source) before it is stored, so that a bad one is refused here, naming
 * what is wrong, rather than logged by every process later.
 */
export function registryHandlers(registry: ClusterRegistry, log: Logger) {
  return {
    clusters_add: async (body: unknown): Promise<RegisteredCluster> => {
      const req = parse(ClustersAddRequest, body);
      const entry: RegistryEntry = {
        v: 1,
        url: req.url,
        ...(req.password_file !== undefined ? { password_file: req.password_file } : {}),
        ...(req.passfile !== undefined ? { passfile: req.passfile } : {}),
        ...(req.params && Object.keys(req.params).length > 0 ? { params: req.params } : {}),
        ...(req.labels && Object.keys(req.labels).length > 0 ? { labels: req.labels } : {}),
      };
      if (!/^postgres(ql)?:\/\//.test(entry.url)) throw new ApiFailure('bad_request', `url: must be a postgres:// or postgresql:// URL (got ${JSON.stringify(redactUrl(entry.url))})`);
      const checked = specFromRegistry(req.cluster, entry);
      if (!checked.ok) throw new ApiFailure('bad_request', checked.problem);
      let revision: number;
      try {
        revision = await registry.put(req.cluster, entry, { create: !req.replace });
      } catch (err) {
        if (isWrongLastSequence(err)) throw new ApiFailure('bad_request', `cluster ${req.cluster} is registered already (replace it with --replace)`, { cause: err });
        throw err;
      }
      const stored = await registry.get(req.cluster);
      log.info({ cluster: req.cluster, url: redactUrl(entry.url), replaced: req.replace, revision }, 'cluster registered');
      return shownEntry(req.cluster, entry, revision, stored?.storedMs ?? Date.now());
    },
    clusters_remove: async (body: unknown): Promise<ClustersRemoveResult> => {
      const { cluster } = parse(ClusterRequest, body);
      const known = await registry.get(cluster);
      if (!known) return { cluster, removed: false };
      await registry.remove(cluster);
      log.info({ cluster }, 'cluster removed from the registry');
      return { cluster, removed: true };
    },
    clusters_list: async (body: unknown): Promise<ClustersListResult> => {
      parse(ClustersListRequest, body);
      const out: RegisteredCluster[] = [];
      for (const [id, e] of await registry.list(log)) if (e.entry) out.push(shownEntry(id, e.entry, e.revision, e.storedMs));
      return { clusters: out };
    },
    clusters_show: async (body: unknown): Promise<RegisteredCluster> => {
      const { cluster } = parse(ClusterRequest, body);
      const e = await registry.get(cluster);
      if (!e) throw new ApiFailure('not_found', `cluster ${cluster} is not registered`);
      if (!e.entry) throw new ApiFailure('failed', `the registry entry of ${cluster} cannot be read: ${e.invalid ?? 'unknown problem'}`);
      return shownEntry(cluster, e.entry, e.revision, e.storedMs);
    },
  };
}

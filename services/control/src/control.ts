import type { Msg, Subscription } from '@nats-io/transport-node';
import {
  AnalyzeRequest,
  ApiFailure,
  apiSubject,
  CleanupRequest,
  ClusterRequest,
  CONTROL_QUEUE,
  ENDPOINTS,
  HistoryRequest,
  parseRequest as parse,
  recommend,
  StatusRequest,
  KV_STATE_BUCKET,
  type Policy,
  type Endpoint,
  type InfoResult,
  type StatusResult,
} from '@walrus/core';
import { RegisteredClusters, SuperuserCheck, type ClusterSpec } from '@walrus/cluster';
import {
  ClusterRegistry,
  isNotFound,
  isTransientJetStreamError,
  JetStreamRequests,
  OncePerProcess,
  redactUrl,
  replyTo,
  type ServiceDeps,
  type ServiceHandle,
} from '@walrus/runtime';
import { analyze, freshSample } from './analyze.js';
import { Deciders } from './deciders.js';
import { HistoryDb } from './history.js';
import { controlMetrics } from './metrics.js';
import { registryHandlers } from './registry-api.js';
import { Sources } from './sources.js';
import { clusterStatus, fleetSummary, type ClusterFacts } from './status.js';
import { startLiveFeed, type LiveFeed } from './web/feed.js';

export interface ControlConfig {
  /** Service defaults of every walrus.* parameter: the same WALRUS_* as the deciders'. */
  defaults: Policy;
  /** Clusters this process may read live besides the registry's (optional static list): fresher analyze and a real reachability check. */
  clusters: ClusterSpec[];
  /** The history database (optional): history and cleanup_history need it. */
  historyDatabaseUrl: string | null;
  connectTimeoutSec: number;
  queryTimeoutMs: number;
  /** Serve the live page and its feed on the HTTP port. */
  page: boolean;
  /** How long analyze with apply waits for the applier's outcome. */
  applyWaitSec: number;
}

const REQUEST_TEXT: Record<Endpoint, string> = {
  info: '{}',
  status: '{"cluster"?: string}',
  history: '{"cluster"?: string, "limit"?: 1..10000}',
  recommendation: '{"cluster": string}',
  analyze: '{"cluster": string, "apply"?: boolean}',
  reset: '{"cluster": string}',
  cleanup_history: '{"retention_days"?: 0..3650}',
  clusters_add: '{"cluster": string, "url": string, "password_file"?: string, "passfile"?: string, "params"?: {name: value}, "labels"?: {name: value}, "replace"?: boolean}',
  clusters_remove: '{"cluster": string}',
  clusters_list: '{}',
  clusters_show: '{"cluster": string}',
};

export async function startControl(deps: ServiceDeps<ControlConfig>): Promise<ServiceHandle> {
  const { config, nc, log, registry, now } = deps;
  const requests = new JetStreamRequests(nc, { inboxPrefix: deps.inboxPrefix });
  // The registry: written here alone (walrus clusters add|remove), followed for live reads of registered clusters.
  const clusterRegistry = await deps.startup.wait(
    `JetStream KV bucket walrus_clusters${deps.provision ? '' : ' (WALRUS_PROVISION=false: created by an administrator)'}`,
    () => ClusterRegistry.open(nc, deps),
    { transient: (err) => isTransientJetStreamError(err) || (!deps.provision && isNotFound(err)) },
  );
  const registered = new RegisteredClusters((cluster, problem) => log.warn({ cluster, problem }, 'registry entry cannot be read live'));
  const following = clusterRegistry.follow((changes) => registered.update(changes), log);
  const staticList = new Map(config.clusters.map((c) => [c.id, c]));
  const connections = {
    ids: () => [...new Set([...staticList.keys(), ...registered.ids()])],
    get: (cluster: string) => staticList.get(cluster) ?? registered.spec(cluster),
  };
  const sources = await deps.startup.wait(
    `JetStream KV bucket ${KV_STATE_BUCKET}${deps.provision ? '' : ' (WALRUS_PROVISION=false: created by an administrator)'}`,
    () =>
      Sources.open(
        nc,
        requests,
        {
          provision: deps.provision,
          replicas: deps.replicas,
          connections,
          connectTimeoutSec: config.connectTimeoutSec,
          queryTimeoutMs: config.queryTimeoutMs,
          superusers: new SuperuserCheck(log, deps.once ?? new OncePerProcess()),
        },
        log,
      ),
    { transient: (err) => isTransientJetStreamError(err) || (!deps.provision && isNotFound(err)) },
  );
  const metrics = controlMetrics(registry, sources.jsm, log);
  const history = config.historyDatabaseUrl ? new HistoryDb(config.historyDatabaseUrl) : null;
  // analyze with apply and reset change the state: deciders alone do that (walrus.decider.*).
  const deciders = new Deciders(nc);
  if (config.historyDatabaseUrl) log.info({ database: redactUrl(config.historyDatabaseUrl) }, 'history available to the control surface');

  const known = async (cluster: string): Promise<boolean> =>
    sources.hasLive(cluster) || (await sources.state(cluster)).revision > 0 || (await sources.lastSample(cluster)) !== null;
  const requireKnown = async (cluster: string) => {
    if (!(await known(cluster))) {
      throw new ApiFailure('not_found', `unknown cluster ${cluster}: no state, no sample and no connection for it`);
    }
  };
  const needHistory = (): HistoryDb => {
    if (!history) throw new ApiFailure('not_configured', 'the control service has no history database: set HISTORY_DATABASE_URL');
    return history;
  };

  const facts = async (cluster: string, live: boolean): Promise<ClusterFacts> => {
    const [{ state }, fresh, applied, stored] = await Promise.all([
      sources.state(cluster),
      live ? freshSample(sources, cluster, now) : sources.lastSample(cluster).then((sample) => ({ sample, live: null })),
      sources.lastApplied(cluster),
      // Which collector serves the cluster: named by its last sample on the stream (a live read is this process's own).
      live ? sources.lastSample(cluster) : null,
    ]);
    const collector = (live ? stored : fresh.sample)?.collector ?? null;
    return { cluster, state, sample: fresh.sample, live: fresh.live, applied, registered: registered.get(cluster) !== undefined, collector };
  };

  const status = async (cluster: string | undefined): Promise<StatusResult> => {
    const nowMs = now().getTime();
    let list: ClusterFacts[];
    if (cluster) {
      await requireKnown(cluster);
      list = [await facts(cluster, true)];
    } else {
      // The fleet view judges reachability by sample age: one live connection per cluster would not scale.
      list = await Promise.all((await sources.clusters()).map((c) => facts(c, false)));
    }
    const clusters = list.map((f) => clusterStatus(f, config.defaults, nowMs));
    return { generated_at: new Date(nowMs).toISOString(), fleet: fleetSummary(clusters), clusters };
  };

  const handlers: Record<Endpoint, (body: unknown) => Promise<unknown>> = {
    info: async (): Promise<InfoResult> => ({
      service: 'walrus-control',
      endpoints: ENDPOINTS.map((name) => ({ name, subject: apiSubject(name), request: REQUEST_TEXT[name] })),
      history: history !== null,
      live_clusters: sources.liveClusters(),
    }),
    status: async (body) => status(parse(StatusRequest, body).cluster),
    history: async (body) => {
      const req = parse(HistoryRequest, body);
      const db = needHistory();
      const result = await db.history(req.cluster, req.limit);
      if (req.cluster && result.rows.length === 0 && !(await known(req.cluster))) {
        throw new ApiFailure('not_found', `unknown cluster ${req.cluster}: no history, no state and no sample for it`);
      }
      return result;
    },
    recommendation: async (body) => {
      const { cluster } = parse(ClusterRequest, body);
      await requireKnown(cluster);
      const [{ state }, fresh] = await Promise.all([sources.state(cluster), freshSample(sources, cluster, now)]);
      return recommend({ cluster, state, sample: fresh.sample, sampleSource: fresh.source, defaults: config.defaults, now: now().toISOString() })
        .recommendation;
    },
    analyze: async (body) => {
      const req = parse(AnalyzeRequest, body);
      await requireKnown(req.cluster);
      return analyze(
        {
          nc,
          sources,
          deciders,
          defaults: config.defaults,
          now,
          log,
          outcomeWaitMs: config.applyWaitSec * 1000,
          onDecision: (action, cluster) => metrics.manualDecisions.inc({ cluster, action }),
        },
        req.cluster,
        req.apply,
      );
    },
    reset: async (body) => {
      const { cluster } = parse(ClusterRequest, body);
      const { revision } = await sources.state(cluster);
      if (revision === 0 && !(await known(cluster))) throw new ApiFailure('not_found', `unknown cluster ${cluster}: it has no state to clear`);
      const result = await deciders.reset(cluster);
      log.info({ cluster, hadState: result.had_state }, 'a decider reset the cluster state: the next sample starts a new baseline');
      return result;
    },
    cleanup_history: async (body) => {
      const req = parse(CleanupRequest, body);
      return needHistory().cleanup(req.retention_days);
    },
    ...registryHandlers(clusterRegistry, log),
  };

  const answer = async (endpoint: Endpoint, msg: Msg) => {
    const reply = await replyTo(msg, handlers[endpoint], (failure, err) => {
      if (failure.code === 'failed') log.warn({ err, endpoint }, 'control request failed');
    });
    metrics.requests.inc({ endpoint, result: reply.ok ? 'ok' : reply.error.code });
    msg.respond(JSON.stringify(reply));
  };

  const subs: Subscription[] = ENDPOINTS.map((endpoint) =>
    nc.subscribe(apiSubject(endpoint), {
      queue: CONTROL_QUEUE,
      callback: (err, msg) => {
        if (err) return log.warn({ err, endpoint }, 'control subscription error');
        // Answered while the next request arrives; a reply that cannot be sent (the connection closing) is logged.
        answer(endpoint, msg).catch((err: unknown) => log.warn({ err, endpoint }, 'control reply could not be sent'));
      },
    }),
  );
  await nc.flush();

  let feed: LiveFeed | null = null;
  if (config.page) {
    feed = startLiveFeed({ nc, jsm: sources.jsm, log, fleet: () => status(undefined) });
  }
  log.info({ subjects: `${apiSubject('info').replace(/\.info$/, '')}.*`, page: config.page, liveClusters: sources.liveClusters().length }, 'control surface ready');

  return {
    name: 'control',
    health: () => ({ service: 'control', history: history !== null, page: config.page }),
    ready: () => !nc.isClosed(),
    ...(feed ? { routes: feed.routes } : {}),
    stop: async () => {
      for (const s of subs) s.unsubscribe();
      await feed?.stop();
      await history?.close();
      following.stop();
      requests.close();
    },
  };
}

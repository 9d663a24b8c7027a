import type { NatsConnection } from '@nats-io/transport-node';
import {
  KV_CLUSTERS_BUCKET,
  KV_COLLECTORS_BUCKET,
  liveMembers,
  nextExpiry,
  ownerOf,
  SAMPLE_INTERVAL_HEADER,
  sameView,
  sampleSubject,
  ServerClock,
  STREAM_SAMPLES,
  viewAgreed,
  type MemberAnnouncement,
  type SeenMember,
} from '@walrus/core';
import { specFromRegistry, type ClusterSpec } from '@walrus/cluster';
import {
  ClusterRegistry,
  errorMessage,
  followKv,
  isNotFound,
  isTransientJetStreamError,
  Limiter,
  openBucket,
  type JetStreamRequests,
  type KV,
  type KvFollower,
  type Logger,
  type StartupWaits,
} from '@walrus/runtime';

/*
 * Collectors serving the registry together (docs/SCALING.md, "Collectors
 * share the registry"). Each collector heartbeats its entry in the KV
 * bucket walrus_collectors every lease/3 with its view (the members it
 * believes alive), follows the others' entries through a watch, and samples
 * the registered clusters that rendezvous hashing gives it under its view.
 * Exactly one sampler per cluster at a time, also while members come and go:
 *  - a collector stops the clusters it loses under a view before it
 *    announces that view;
 *  - it starts the clusters it gains only once every member of the view has
 *    announced the same view (each has then let go of what it lost);
 *  - a member whose heartbeat is more than a lease old (by the server's
 *    clock) is out of the view; a collector that could not renew its own
 *    heartbeat for two thirds of a lease stops sampling everything
 *    (self-fencing) before anyone can count it out, and starts again only
 *    once it has rejoined.
 */

/** What the fleet asks of the collector's samplers. */
export interface Samplers {
  /** The clusters sampled now, with the registry revision each was started from. */
  running(): ReadonlyMap<string, number>;
  has(id: string): boolean;
  start(spec: ClusterSpec, revision: number, takeover: { prevSeq: number | null; firstDelayMs: number }): void;
  stop(ids: readonly string[]): Promise<void>;
}

export interface FleetOptions {
  nc: NatsConnection;
  requests: JetStreamRequests;
  log: Logger;
  startup: StartupWaits;
  provision: boolean;
  replicas: number;
  id: string;
  leaseSec: number;
  /** WALRUS_SAMPLE_INTERVAL, or null: each cluster's checkpoint_timeout (from the header of its last sample). */
  intervalSec: number | null;
  samplers: Samplers;
}

export interface Fleet {
  /** Joined: the registry read and this collector's own heartbeat seen. */
  ready(): boolean;
  health(): Record<string, unknown>;
  /** Stops every sampler, then removes this collector's entry so that the others take over at once. */
  stop(): Promise<void>;
}

/** Takeover reads of the last sample in flight at once. */
const TAKEOVER_READS_AT_ONCE = 64;
/** How often membership is looked at besides the changes the watches bring (expiries, fencing). */
const TICK_MS = 250;

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const { log, id } = o;
  const leaseMs = o.leaseSec * 1000;
  const heartbeatMs = leaseMs / 3;
  // Stop sampling before anyone can count this collector out: a third of a lease to stop in.
  const fenceMs = (2 * leaseMs) / 3;

  const provisionNote = o.provision ? '' : ' (WALRUS_PROVISION=false: created by an administrator)';
  const transient = (err: unknown) => isTransientJetStreamError(err) || (!o.provision && isNotFound(err));
  const registry = await o.startup.wait(`JetStream KV bucket ${KV_CLUSTERS_BUCKET}${provisionNote}`, () => ClusterRegistry.open(o.nc, o), { transient });
  const members: KV = await o.startup.wait(
    `JetStream KV bucket ${KV_COLLECTORS_BUCKET}${provisionNote}`,
    // A dead member's entry goes after an hour; liveness is judged by the lease, not by this.
    () => openBucket(o.nc, KV_COLLECTORS_BUCKET, { provision: o.provision, replicas: o.replicas, ttlMs: 3_600_000 }),
    { transient },
  );

  const clock = new ServerClock();
  const seen = new Map<string, SeenMember>();
  /** Registered clusters: their spec (null when the entry cannot be served) and revision. */
  const clusters = new Map<string, { spec: ClusterSpec | null; revision: number }>();
  let registryReady = false;
  let selfSeen = false;
  let stopped = false;
  /** The view this collector last announced (and whose lost clusters it has stopped). */
  let announced: string[] = [];
  let view: string[] = [];
  let agreed = false;
  let fenced = false;
  /** performance.now() when the last heartbeat that succeeded was sent; null before the first. */
  let lastHeartbeatSent: number | null = null;
  /** performance.now() when this collector first saw its own heartbeat. */
  let joinedAt: number | null = null;
  const takeoverReads = new Limiter(TAKEOVER_READS_AT_ONCE);
  /** Cache of the clusters this collector owns, by view and registry version. */
  let owned: { key: string; ids: Set<string> } | null = null;
  let registryVersion = 0;

  const heartbeat = async (v: string[]): Promise<void> => {
    const sent = performance.now();
    const value: MemberAnnouncement = { v: 1, id, view: v };
    await members.put(id, JSON.stringify(value));
    lastHeartbeatSent = Math.max(lastHeartbeatSent ?? 0, sent);
  };

  const membersFollow: KvFollower = followKv(
    members,
    (changes) => {
      const mono = performance.now();
      for (const c of changes) {
        if (c.value === null) {
          seen.delete(c.key);
          continue;
        }
        clock.observe(c.createdMs, mono);
        let a: MemberAnnouncement | null = null;
        try {
          a = JSON.parse(new TextDecoder().decode(c.value)) as MemberAnnouncement;
        } catch {
          a = null;
        }
        const announcedView = Array.isArray(a?.view) && a.view.every((m) => typeof m === 'string') ? a.view : [];
        seen.set(c.key, { id: c.key, view: announcedView, atMs: c.createdMs });
        if (c.key === id && !selfSeen) {
          selfSeen = true;
          joinedAt = mono;
        }
      }
      reconcileSoon();
    },
    log,
    KV_COLLECTORS_BUCKET,
  );

  const registryFollow = registry.follow((changes, initial) => {
    for (const c of changes) {
      if (c.entry === null) {
        if (c.invalid !== undefined) log.error({ cluster: c.id, problem: c.invalid }, 'registry entry cannot be read; the cluster is not sampled');
        clusters.delete(c.id);
        continue;
      }
      const spec = specFromRegistry(c.id, c.entry);
      if (!spec.ok) log.error({ cluster: c.id, problem: spec.problem }, 'registry entry cannot be served; the cluster is not sampled');
      const known = clusters.get(c.id);
      if (!initial && !known) log.info({ cluster: c.id }, 'cluster registered');
      clusters.set(c.id, { spec: spec.ok ? spec.value : null, revision: c.revision });
    }
    registryVersion++;
    reconcileSoon();
  }, log);
  void registryFollow.ready.then(() => {
    registryReady = true;
    log.info({ clusters: clusters.size }, 'registry read');
    reconcileSoon();
  });

  const ownedNow = (v: readonly string[]): Set<string> => {
    const key = `${registryVersion}|${v.join(',')}`;
    if (owned?.key === key) return owned.ids;
    const ids = new Set<string>();
    for (const [c, e] of clusters) if (e.spec !== null && ownerOf(c, v) === id) ids.add(c);
    owned = { key, ids };
    return ids;
  };

  /** Where a cluster taken over stands: its last stored sample, so that the first sample keeps the interval and names the previous one. */
  const takeover = async (cluster: string, serverNow: number, index: number, count: number): Promise<{ prevSeq: number | null; firstDelayMs: number }> => {
    const release = await takeoverReads.acquire();
    try {
      const last = await o.requests.lastBySubjectFromLeader(STREAM_SAMPLES, sampleSubject(cluster));
      if (!last) {
        // Never sampled: spread many first samples over a second per hundred clusters (at most ten).
        const spreadMs = Math.min(10_000, 10 * count);
        return { prevSeq: null, firstDelayMs: count > 1 ? Math.floor((spreadMs * index) / count) : 0 };
      }
      const headerInterval = Number(last.header(SAMPLE_INTERVAL_HEADER));
      const intervalSec = o.intervalSec ?? (Number.isFinite(headerInterval) && headerInterval > 0 ? headerInterval : 0);
      const dueMs = last.timeMs + intervalSec * 1000 - serverNow;
      return { prevSeq: last.seq, firstDelayMs: Number.isFinite(dueMs) ? Math.min(Math.max(0, dueMs), intervalSec * 1000) : 0 };
    } catch (err) {
      log.warn({ cluster, error: errorMessage(err) }, 'could not read the last sample of a cluster taken over; sampling it now');
      return { prevSeq: null, firstDelayMs: 0 };
    } finally {
      release();
    }
  };

  const reconcileOnce = async (): Promise<void> => {
    if (stopped || !registryReady || !selfSeen) return;
    const mono = performance.now();
    const running = o.samplers.running();
    // Not joined yet: nothing is sampled before the first heartbeat is stored.
    if (lastHeartbeatSent === null) return;
    if (mono - lastHeartbeatSent > fenceMs) {
      if (!fenced || running.size > 0) {
        log.error(
          { collector: id, clusters: running.size, leaseSec: o.leaseSec },
          'could not renew this collector\'s lease: stopped sampling every cluster (self-fencing) until it has rejoined',
        );
        fenced = true;
        agreed = false;
        await o.samplers.stop([...running.keys()]);
      }
      return;
    }
    if (fenced) log.info({ collector: id }, 'lease renewed: this collector takes part again');
    fenced = false;
    const serverNow = clock.now(mono);
    if (serverNow === null) return;
    const others = [...seen.values()].filter((m) => m.id !== id);
    const next = [...new Set([id, ...liveMembers(others, serverNow, leaseMs)])].sort();
    if (!sameView(next, view)) log.info({ collector: id, view: next, previous: view }, 'collectors changed');
    view = next;
    const want = ownedNow(view);
    // Lost, removed, or changed in the registry: stopped before the view is announced.
    const stop = [...running].filter(([c, revision]) => !want.has(c) || clusters.get(c)?.revision !== revision).map(([c]) => c);
    if (stop.length > 0) await o.samplers.stop(stop);
    if (!sameView(view, announced)) {
      try {
        await heartbeat(view);
        announced = view;
      } catch (err) {
        log.warn({ error: errorMessage(err) }, 'could not announce the new view; trying again');
        return;
      }
    }
    agreed = viewAgreed(id, view, seen);
    if (!agreed) return;
    // Collectors started together see each other within a heartbeat: the
    // first one does not take every cluster only to hand two thirds over a
    // moment later.
    if (joinedAt === null || mono - joinedAt < heartbeatMs) {
      agreed = false;
      return;
    }
    const after = o.samplers.running();
    const start = [...want].filter((c) => !after.has(c));
    if (start.length === 0) return;
    const begun = performance.now();
    log.info({ collector: id, clusters: start.length, view }, 'sampling clusters of this collector under the agreed view');
    await Promise.all(
      start.map(async (c, i) => {
        const t = await takeover(c, serverNow, i, start.length);
        const e = clusters.get(c);
        // The registry or the view may have moved on meanwhile: the next round decides again.
        if (stopped || fenced || !e?.spec || !sameView(view, announced) || o.samplers.has(c)) return;
        o.samplers.start(e.spec, e.revision, t);
      }),
    );
    log.info({ collector: id, clusters: start.length, ms: Math.round(performance.now() - begun) }, 'clusters taken in hand');
  };

  let reconciling: Promise<void> | null = null;
  let again = false;
  function reconcileSoon(): void {
    if (stopped) return;
    if (reconciling) {
      again = true;
      return;
    }
    reconciling = (async () => {
      do {
        again = false;
        await reconcileOnce().catch((err: unknown) => log.error({ err }, 'fleet membership round failed; trying again'));
      } while (again && !stopped);
    })().finally(() => {
      reconciling = null;
    });
  }

  // Heartbeats: every lease/3, the view last announced. A failure is retried at the next tick, and fencing judges how long it lasted.
  let beating: Promise<void> | null = null;
  let lastBeatTry = 0;
  const tick = setInterval(() => {
    const mono = performance.now();
    if (!beating && mono - lastBeatTry >= (lastHeartbeatSent !== null && mono - lastHeartbeatSent < heartbeatMs ? heartbeatMs : 500)) {
      lastBeatTry = mono;
      const wasFenced = fenced;
      beating = heartbeat(announced)
        .then(() => {
          if (wasFenced) reconcileSoon();
        })
        .catch((err: unknown) => log.debug({ error: errorMessage(err) }, 'heartbeat failed; retrying'))
        .finally(() => {
          beating = null;
        });
    }
    // Expiries of other members' leases, and this collector's own fencing, need no event to happen.
    const serverNow = clock.now(mono);
    const expiry = serverNow === null ? null : nextExpiry([...seen.values()].filter((m) => m.id !== id), serverNow, leaseMs);
    if ((expiry !== null && serverNow !== null && expiry - serverNow < TICK_MS) || (lastHeartbeatSent !== null && mono - lastHeartbeatSent > fenceMs) || !agreed) {
      reconcileSoon();
    }
  }, TICK_MS);
  // The first heartbeat at once: the others see this collector join.
  lastBeatTry = performance.now();
  beating = heartbeat([id])
    .catch((err: unknown) => log.warn({ error: errorMessage(err) }, 'first heartbeat failed; retrying'))
    .finally(() => {
      beating = null;
    });
  announced = [id];

  return {
    ready: () => registryReady && selfSeen,
    health: () => ({ collector: id, view, agreed, fenced, registered: clusters.size, leaseSec: o.leaseSec }),
    stop: async () => {
      stopped = true;
      clearInterval(tick);
      await reconciling;
      await o.samplers.stop([...o.samplers.running().keys()]);
      await beating;
      // Gone at once for the others, rather than after a lease.
      await members.delete(id).catch((err: unknown) => log.warn({ error: errorMessage(err) }, 'could not remove this collector from walrus_collectors; the others take over after the lease'));
      membersFollow.stop();
      registryFollow.stop();
    },
  };
}

import type { NatsConnection } from '@nats-io/transport-node';
import { MemberList, type ClusterSpec, type MemberEndpoint, type SuperuserCheck } from '@walrus/cluster';
import type { Policy } from '@walrus/core';
import type { Limiter, Logger } from '@walrus/runtime';
import type { CollectorMetrics } from './metrics.js';
import { ClusterPublisher } from './publisher.js';
import { PressureBudget } from './pressure.js';
import { ClusterSampler } from './sampler.js';

export interface ClusterMembersOptions {
  cluster: ClusterSpec;
  /** This collector's id, named in every sample. */
  collectorId: string;
  /** The stream sequence of the cluster's last stored sample, when taken over from another collector (Walrus-Prev-Seq stays exact). */
  prevSeq?: number | null;
  nc: NatsConnection;
  log: Logger;
  metrics: CollectorMetrics;
  now: () => Date;
  intervalSec: number | null;
  poolSize: number;
  connectTimeoutSec: number;
  queryTimeoutMs: number;
  firstDelayMs: number;
  limiter: Limiter;
  /** Warns once per cluster and process when the connection is a superuser (on whichever member comes first). */
  superusers?: SuperuserCheck;
  random?: () => number;
  /** Fast sampling under pressure; absent when off (WALRUS_PRESSURE_PROBE_SEC=0). */
  pressure?: { probeSec: number; maxSamplesPerHour: number; defaults: Policy };
}

/** Before any member told its checkpoint_timeout. */
const DEFAULT_REFRESH_SEC = 300;

/**
 * Samples every member of one cluster: one ClusterSampler per member (each
 * with its own pool, backoff and jitter; the process's query limiter is
 * shared), their samples published in turn by one ClusterPublisher. With
 * `walrus_members=patroni` the member list is read from Patroni's
 * `GET /cluster` again every sample interval: members that appear are
 * sampled from then on, members that vanish are dropped.
 */
export class ClusterMembers {
  private readonly list: MemberList;
  private readonly publisher: ClusterPublisher;
  private readonly samplers = new Map<string, ClusterSampler>();
  private refreshTimer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private stopped = false;
  private lastRefreshError: string | null = null;
  /** Shared by the members: the pressure samples allowed are the cluster's, not each member's. */
  private readonly budget: PressureBudget | null;

  constructor(private readonly o: ClusterMembersOptions) {
    this.list = new MemberList(o.cluster.topology, o.connectTimeoutSec * 1000);
    this.budget = o.pressure ? new PressureBudget(o.pressure.maxSamplesPerHour) : null;
    this.publisher = new ClusterPublisher({
      cluster: o.cluster.id,
      multiMember: o.cluster.topology.multiMember,
      nc: o.nc,
      log: o.log,
      metrics: o.metrics,
      prevSeq: o.prevSeq ?? null,
    });
  }

  get id(): string {
    return this.o.cluster.id;
  }

  /** true: some member answers; false: none does (every member tried); null: not known yet. */
  get isUp(): boolean | null {
    const states = [...this.samplers.values()].map((s) => s.isUp);
    if (states.includes(true)) return true;
    return states.length > 0 && states.every((u) => u === false) ? false : null;
  }

  /** Whether some member is sampled every second now, under WAL pressure. */
  get sampledFast(): boolean {
    return [...this.samplers.values()].some((s) => s.sampledFast);
  }

  /** The cluster as it is served (its URL and registry parameters: a changed entry means a new ClusterMembers). */
  get spec(): ClusterSpec {
    return this.o.cluster;
  }

  get memberStates(): Array<boolean | null> {
    return [...this.samplers.values()].map((s) => s.isUp);
  }

  start(): void {
    for (const m of this.list.current) this.add(m, this.o.firstDelayMs);
    if (this.list.dynamic) this.scheduleRefresh(this.o.firstDelayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.publisher.stopped = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    await this.refreshing;
    await Promise.all([...this.samplers.values()].map((s) => s.stop()));
    // A publish already handed over (retried for a few seconds at most) is
    // stored before the cluster goes to another collector, so that the
    // other's first Walrus-Prev-Seq names it.
    await this.publisher.drained();
  }

  private add(member: MemberEndpoint, firstDelayMs: number): void {
    const sampler = new ClusterSampler({
      cluster: this.o.cluster,
      collectorId: this.o.collectorId,
      member,
      publisher: this.publisher,
      onUpChange: () => this.reportUp(),
      log: this.o.log,
      metrics: this.o.metrics,
      now: this.o.now,
      intervalSec: this.o.intervalSec,
      poolSize: this.o.poolSize,
      connectTimeoutSec: this.o.connectTimeoutSec,
      queryTimeoutMs: this.o.queryTimeoutMs,
      limiter: this.o.limiter,
      firstDelayMs,
      ...(this.o.superusers ? { superusers: this.o.superusers } : {}),
      ...(this.o.random ? { random: this.o.random } : {}),
      ...(this.o.pressure && this.budget ? { pressure: { probeSec: this.o.pressure.probeSec, defaults: this.o.pressure.defaults, budget: this.budget } } : {}),
    });
    this.samplers.set(member.name, sampler);
    sampler.start();
  }

  private reportUp(): void {
    const up = this.isUp;
    if (up !== null) this.o.metrics.up.set({ cluster: this.o.cluster.id }, up ? 1 : 0);
  }

  private scheduleRefresh(ms: number): void {
    if (this.stopped) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshing = this.refresh().finally(() => {
        this.refreshing = null;
        const intervals = [...this.samplers.values()].map((s) => s.currentIntervalSec);
        this.scheduleRefresh((this.o.intervalSec ?? (intervals.length > 0 ? Math.min(...intervals) : DEFAULT_REFRESH_SEC)) * 1000);
      });
    }, ms);
  }

  private async refresh(): Promise<void> {
    const r = await this.list.refresh();
    const { cluster, log, metrics } = this.o;
    if (r.error !== null) {
      if (this.lastRefreshError !== r.error) log.warn({ cluster: cluster.id, error: r.error }, 'could not read the member list from Patroni; sampling the last one');
      this.lastRefreshError = r.error;
      return;
    }
    this.lastRefreshError = null;
    if (this.stopped) return;
    for (const name of r.removed) {
      const s = this.samplers.get(name);
      this.samplers.delete(name);
      metrics.memberUp.remove({ cluster: cluster.id, member: name });
      log.info({ cluster: cluster.id, member: name }, 'member left the cluster (Patroni); no longer sampled');
      await s?.stop();
    }
    for (const m of r.members) {
      const known = this.samplers.get(m.name);
      if (known && known.member.url === m.url) continue;
      if (known) await known.stop();
      if (!known) log.info({ cluster: cluster.id, member: m.name }, 'member joined the cluster (Patroni); sampling it');
      this.add(m, 0);
    }
    this.reportUp();
  }
}

import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { choosePrimary, memberConnection, readMemberSample, type ClusterSpec, type MemberEndpoint, type SuperuserCheck } from '@walrus/cluster';
import {
  appliedSubject,
  ApplyResultV1,
  STREAM_DECISIONS,
  type ApplyResult,
  SampleV1,
  sampleSubject,
  STREAM_SAMPLES,
  type Sample,
} from '@walrus/core';
import { errorMessage, isNotFound, redactUrl, StateStore, type JetStreamRequests, type Logger, type StoredState } from '@walrus/runtime';

/** What the control service may do with walrus_state: read it. Deciders alone write it (ARCHITECTURE §7). */
export type StateReader = Pick<StateStore, 'get' | 'clusters'>;
import pg from 'pg';

export interface LiveRead {
  ok: boolean;
  sample: Sample | null;
  error: string | null;
}

/**
 * Where the control service reads what it reports: the decider's state in
 * KV (any process may read it), the last sample of each cluster on the
 * samples stream, and, for clusters it has a connection for (its static
 * list, or the registry), the cluster itself. Nothing here is cached: a
 * status must show what the decider wrote last.
 */
export class Sources {
  private constructor(
    /** The decider's state, read-only here: analyze with apply and reset ask a decider (deciders.ts). */
    private readonly store: StateReader,
    readonly jsm: JetStreamManager,
    /** The clusters this process can read live: its static list first, then the registry. */
    private readonly connections: { ids(): string[]; get(cluster: string): ClusterSpec | undefined },
    private readonly opts: { connectTimeoutSec: number; queryTimeoutMs: number; superusers?: SuperuserCheck },
    private readonly log: Logger,
  ) {}

  static async open(
    nc: NatsConnection,
    requests: JetStreamRequests,
    o: {
      provision: boolean;
      replicas: number;
      connections: { ids(): string[]; get(cluster: string): ClusterSpec | undefined };
      connectTimeoutSec: number;
      queryTimeoutMs: number;
      superusers?: SuperuserCheck;
    },
    log: Logger,
  ): Promise<Sources> {
    // The deciders' own store, opened here to read; whoever starts first creates the (empty) bucket, with the same settings.
    const store = await StateStore.open(nc, requests, o, log);
    const jsm = await jetstreamManager(nc);
    return new Sources(store, jsm, o.connections, o, log);
  }

  liveClusters(): string[] {
    return this.connections.ids();
  }

  hasLive(cluster: string): boolean {
    return this.connections.get(cluster) !== undefined;
  }

  state(cluster: string): Promise<StoredState> {
    return this.store.get(cluster);
  }

  /** The last outcome the applier reported for the cluster (it may be newer than the last sample). */
  async lastApplied(cluster: string): Promise<ApplyResult | null> {
    const m = await this.jsm.streams.getMessage(STREAM_DECISIONS, { last_by_subj: appliedSubject(cluster) }).catch(() => null);
    if (!m) return null;
    try {
      const parsed = ApplyResultV1.safeParse(m.json());
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  async lastSample(cluster: string): Promise<Sample | null> {
    const m = await this.jsm.streams.getMessage(STREAM_SAMPLES, { last_by_subj: sampleSubject(cluster) }).catch((err: unknown) => {
      // No such stream yet (nothing was ever published): no sample. nats.js itself answers null for "no message".
      if (isNotFound(err)) return null;
      throw err;
    });
    if (!m) return null;
    const parsed = SampleV1.safeParse(m.json());
    return parsed.success ? parsed.data : null;
  }

  /**
   * Reads the statistics now, as the collector would (read-only; needs
   * pg_monitor). Of a cluster of several members, every member is read and
   * the primary's sample returned (out of recovery, the highest timeline of
   * several); when none is, the first member's that answered.
   */
  async liveSample(cluster: string, now: () => Date): Promise<LiveRead> {
    const spec = this.connections.get(cluster);
    const members = spec?.topology.members ?? [];
    if (!spec || members.length === 0) return { ok: false, sample: null, error: 'no connection URL for this cluster in this process' };
    const several = members.length > 1;
    const reads = await Promise.all(members.map((m) => this.readMember(spec, m, several, now)));
    const answered = reads.filter((r): r is { member: string; sample: Sample; error: null } => r.sample !== null);
    const [first] = answered;
    if (!first) return { ok: false, sample: null, error: reads.map((r) => (several ? `${r.member}: ${r.error}` : r.error)).join('; ') };
    const choice = choosePrimary(
      answered.map((r) => ({ member: r.member, inRecovery: r.sample.in_recovery, timeline: r.sample.timeline ?? null, error: null })),
    );
    const sample = answered.find((r) => r.member === choice.primary)?.sample ?? first.sample;
    return { ok: true, sample, error: null };
  }

  private async readMember(spec: ClusterSpec, m: MemberEndpoint, named: boolean, now: () => Date): Promise<{ member: string; sample: Sample | null; error: string | null }> {
    const cluster = spec.id;
    const { Client = pg.Client, connectionString } = memberConnection(spec, m);
    const client = new Client({
      connectionString,
      connectionTimeoutMillis: this.opts.connectTimeoutSec * 1000,
      statement_timeout: this.opts.queryTimeoutMs,
      application_name: 'walrus-control',
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      // The collector's read: a live analyze then keeps to walrus.wal_disk_budget and the registry's parameters as the decider does.
      const read = await readMemberSample(client, {
        cluster,
        ...(named ? { member: m.name } : {}),
        now,
        ...(this.opts.superusers ? { superusers: this.opts.superusers } : {}),
        settings: spec.settings,
      });
      if (read.diskError !== null) this.log.debug({ cluster, member: m.name, error: redactUrl(errorMessage(read.diskError)) }, 'live read without the WAL disk fields');
      return { member: m.name, sample: read.sample, error: null };
    } catch (err) {
      const error = redactUrl(errorMessage(err));
      this.log.warn({ cluster, member: m.name, server: redactUrl(m.url), error }, 'live read of the cluster failed');
      return { member: m.name, sample: null, error };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Every cluster anyone knows of: state in KV, samples on the stream, URLs given to this process or registered. */
  async clusters(): Promise<string[]> {
    const names = new Set<string>(this.connections.ids());
    for (const k of await this.store.clusters()) names.add(k);
    const info = await this.jsm.streams.info(STREAM_SAMPLES, { subjects_filter: 'walrus.sample.>' }).catch(() => null);
    for (const subject of Object.keys(info?.state.subjects ?? {})) {
      const id = subject.split('.')[2];
      if (id) names.add(id);
    }
    return [...names].sort();
  }
}

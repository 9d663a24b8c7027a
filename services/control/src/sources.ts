import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { readSample } from '@walrus/cluster';
import {
  appliedSubject,
  ApplyResultV1,
  ClusterStateV1,
  STREAM_DECISIONS,
  type ApplyResult,
  KV_STATE_BUCKET,
  SampleV1,
  sampleSubject,
  STREAM_SAMPLES,
  WALRUS_PARAM_NAMES,
  type ClusterState,
  type Sample,
} from '@walrus/core';
import { errorMessage, redactUrl, type ClusterEntry, type Logger } from '@walrus/runtime';
import pg from 'pg';

export interface VersionedState {
  state: ClusterState | null;
  /** KV revision read; 0 when the key does not exist. */
  revision: number;
}

export interface LiveRead {
  ok: boolean;
  sample: Sample | null;
  error: string | null;
}

/**
 * Where the control service reads what it reports: the decider's state in
 * KV (any process may read it), the last sample of each cluster on the
 * samples stream, and, for clusters it was given URLs of, the cluster itself.
 * Nothing here is cached: a status must show what the decider wrote last.
 */
export class Sources {
  private constructor(
    readonly kv: KV,
    readonly jsm: JetStreamManager,
    private readonly urls: Map<string, string>,
    private readonly opts: { connectTimeoutSec: number; queryTimeoutMs: number },
    private readonly log: Logger,
  ) {}

  static async open(
    nc: NatsConnection,
    o: { provision: boolean; replicas: number; clusters: ClusterEntry[]; connectTimeoutSec: number; queryTimeoutMs: number },
    log: Logger,
  ): Promise<Sources> {
    const kvm = new Kvm(nc);
    // Same bucket settings as the decider's StateStore: whoever starts first creates it.
    const kv = o.provision ? await kvm.create(KV_STATE_BUCKET, { history: 1, replicas: o.replicas }) : await kvm.open(KV_STATE_BUCKET);
    const jsm = await jetstreamManager(nc);
    return new Sources(kv, jsm, new Map(o.clusters.map((c) => [c.id, c.url])), o, log);
  }

  liveClusters(): string[] {
    return [...this.urls.keys()];
  }

  hasLive(cluster: string): boolean {
    return this.urls.has(cluster);
  }

  async state(cluster: string): Promise<VersionedState> {
    const entry = await this.kv.get(cluster);
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return { state: null, revision: entry?.revision ?? 0 };
    try {
      const parsed = ClusterStateV1.safeParse(entry.json());
      if (parsed.success) return { state: parsed.data, revision: entry.revision };
    } catch {
      // fall through: unreadable JSON is reported like an invalid state
    }
    this.log.warn({ cluster, revision: entry.revision }, 'stored state is unreadable; reporting the cluster without state');
    return { state: null, revision: entry.revision };
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
      if (/no message found|not found/i.test(errorMessage(err))) return null;
      throw err;
    });
    if (!m) return null;
    const parsed = SampleV1.safeParse(m.json());
    return parsed.success ? parsed.data : null;
  }

  /** Reads the statistics now, as the collector would (read-only; needs pg_monitor). */
  async liveSample(cluster: string, now: () => Date): Promise<LiveRead> {
    const url = this.urls.get(cluster);
    if (!url) return { ok: false, sample: null, error: 'no connection URL for this cluster in this process' };
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: this.opts.connectTimeoutSec * 1000,
      statement_timeout: this.opts.queryTimeoutMs,
      application_name: 'walrus-control',
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const sample = await readSample(client, cluster, WALRUS_PARAM_NAMES, now);
      return { ok: true, sample, error: null };
    } catch (err) {
      const error = redactUrl(errorMessage(err));
      this.log.warn({ cluster, server: redactUrl(url), error }, 'live read of the cluster failed');
      return { ok: false, sample: null, error };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Every cluster anyone knows of: state in KV, samples on the stream, URLs given to this process. */
  async clusters(): Promise<string[]> {
    const names = new Set<string>(this.urls.keys());
    for await (const k of await this.kv.keys()) names.add(k);
    const info = await this.jsm.streams.info(STREAM_SAMPLES, { subjects_filter: 'walrus.sample.>' }).catch(() => null);
    for (const subject of Object.keys(info?.state.subjects ?? {})) {
      const id = subject.split('.')[2];
      if (id) names.add(id);
    }
    return [...names].sort();
  }
}

import { SampleV1, type Sample } from '@walrus/core';
import { backoffDelay, errorMessage, redactUrl, sleep, type Limiter, type Logger } from '@walrus/runtime';
import pg from 'pg';
import type { CollectorMetrics } from './metrics.js';
import { isPermissionDenied, memberConnection, readMemberSample, type ClusterSpec, type MemberEndpoint, type SuperuserCheck } from '@walrus/cluster';
import type { ClusterPublisher } from './publisher.js';
import { PRESSURE_INTERVAL_SEC } from './pressure.js';
import { FastSampling, type PressureOptions } from './fast-sampling.js';

export interface SamplerOptions {
  cluster: ClusterSpec;
  /** This collector's id, named in every sample (ARCHITECTURE §8). */
  collectorId: string;
  /** The member this sampler reads (a cluster of one host has one). */
  member: MemberEndpoint;
  /** The cluster's publisher, shared by its members' samplers. */
  publisher: ClusterPublisher;
  /** Told when this member becomes reachable or not (the cluster's up gauge sums its members). */
  onUpChange?: (up: boolean) => void;
  log: Logger;
  metrics: CollectorMetrics;
  now: () => Date;
  /** Fixed interval (WALRUS_SAMPLE_INTERVAL); null = the cluster's own checkpoint_timeout. */
  intervalSec: number | null;
  poolSize: number;
  connectTimeoutSec: number;
  /** Statement timeout of the statistics query, so a hung server cannot hold a connection. */
  queryTimeoutMs: number;
  /** Delay before the first sample (spreads many clusters over time). */
  firstDelayMs: number;
  /** Shared by every cluster of the process: bounds the queries running at once. */
  limiter: Limiter;
  /** Warns once per cluster and process when the connection is a superuser; absent in tests of the sampler alone. */
  superusers?: SuperuserCheck;
  /** Random number in [0, 1) for the interval's jitter (injected for tests). */
  random?: () => number;
  pressure?: PressureOptions;
}

/** Each interval is stretched or shortened by up to this fraction, so clusters started together drift apart. */
const JITTER = 0.05;

/** Before the first sample tells the cluster's checkpoint_timeout. */
const DEFAULT_INTERVAL_SEC = 300;
const MAX_BACKOFF_MS = 60_000;

/** How long stop() waits for a sample in progress and for the pool to close. */
const STOP_GRACE_MS = 2_000;

/** Waits for `p` (never rejecting) for at most `ms`. */
async function settledWithin(p: Promise<unknown> | null, ms: number): Promise<void> {
  if (!p) return;
  // Aborted once `p` settles, so that no timer outlives the wait.
  const done = new AbortController();
  await Promise.race([p.catch(() => undefined), sleep(ms, done.signal).catch(() => undefined)]);
  done.abort();
}

/**
 * Samples one member of a cluster until stopped: on time while it answers,
 * with backoff while it does not, reporting each change between up and down
 * once; under WAL pressure faster (fast-sampling.ts).
 */
export class ClusterSampler {
  private readonly pool: pg.Pool;
  private readonly fastSampling: FastSampling | null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = false;
  private up: boolean | null = null;
  private failures = 0;
  private intervalSec: number;
  /** Why the last WAL disk read failed ('' when it worked): reported once per change. */
  private diskProblem = '';
  /** The last sample read and published, what probes compare with. */
  private last: Sample | null = null;
  /** When the next sample is due (performance.now()), while one is scheduled. */
  private dueAt: number | null = null;

  constructor(private readonly o: SamplerOptions) {
    this.intervalSec = o.intervalSec ?? DEFAULT_INTERVAL_SEC;
    this.pool = new pg.Pool({
      ...memberConnection(o.cluster, o.member),
      max: o.poolSize,
      connectionTimeoutMillis: o.connectTimeoutSec * 1000,
      idleTimeoutMillis: 0,
      application_name: 'walrus-collector',
      statement_timeout: o.queryTimeoutMs,
    });
    this.pool.on('error', (err) => o.log.debug({ err, cluster: o.cluster.id, member: o.member.name }, 'idle connection lost'));
    // pg-pool listens for errors on idle clients only: a client held between
    // two queries (or while waiting for the limiter) when the server ends its
    // session (a fast shutdown, pg_terminate_backend) would emit an 'error'
    // nobody handles and crash the process. Its next query fails instead.
    this.pool.on('connect', (client) => client.on('error', (err) => o.log.debug({ err, cluster: o.cluster.id, member: o.member.name }, 'connection lost while in use')));
    this.fastSampling = o.pressure
      ? new FastSampling(
          {
            cluster: o.cluster.id,
            member: o.member,
            pool: this.pool,
            last: () => this.last,
            intervalSec: () => this.intervalSec,
            sampling: () => this.inFlight !== null,
            dueInMs: () => (this.dueAt === null ? null : this.dueAt - performance.now()),
            sampleIn: (ms) => this.schedule(ms),
          },
          { pressure: o.pressure, limiter: o.limiter, log: o.log, metrics: o.metrics, now: o.now },
        )
      : null;
  }

  get isUp(): boolean | null {
    return this.up;
  }

  get member(): MemberEndpoint {
    return this.o.member;
  }

  /** The interval this member is sampled at (its checkpoint_timeout unless fixed). */
  get currentIntervalSec(): number {
    return this.intervalSec;
  }

  start(): void {
    this.schedule(this.o.firstDelayMs);
  }

  /** Whether this member is sampled every PRESSURE_INTERVAL_SEC now. */
  get sampledFast(): boolean {
    return this.fastSampling?.active ?? false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.fastSampling?.stop(STOP_GRACE_MS, settledWithin);
    // A sample being read may finish (its query has a statement timeout), but
    // a connect hanging on an unresponsive server is not waited for: it could
    // hold the stop for the whole connect timeout, and the process is ending.
    await settledWithin(this.inFlight, STOP_GRACE_MS);
    await settledWithin(this.pool.end(), STOP_GRACE_MS);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = performance.now() + ms;
    this.timer = setTimeout(() => this.runTick(), ms);
  }

  private runTick(): void {
    this.timer = null;
    this.dueAt = null;
    this.inFlight = this.tick().finally(() => {
      this.inFlight = null;
    });
  }

  /** One sample, then the next one scheduled. */
  private async tick(): Promise<void> {
    const started = performance.now();
    const gate = this.fastSampling?.take() ?? { go: true };
    if (!gate.go) {
      this.schedule('waitMs' in gate ? gate.waitMs : this.intervalSec * 1000 * this.jitter());
      return;
    }
    const ok = await this.sampleOnce();
    const fast = this.fastSampling?.sampled(ok) ?? false;
    if (ok) {
      this.failures = 0;
      const elapsed = performance.now() - started;
      this.schedule(Math.max(0, (fast ? PRESSURE_INTERVAL_SEC * 1000 : this.intervalSec * 1000 * this.jitter()) - elapsed));
    } else {
      this.failures += 1;
      // Never longer than an interval: a cluster back up is sampled on time.
      const maxMs = Math.min(MAX_BACKOFF_MS, this.intervalSec * 1000);
      this.schedule(backoffDelay(this.failures - 1, { initialMs: Math.min(1000, maxMs), maxMs }, this.o.random ?? Math.random));
    }
  }

  private jitter(): number {
    return 1 + JITTER * (2 * (this.o.random ?? Math.random)() - 1);
  }

  private async sampleOnce(): Promise<boolean> {
    const { cluster, log, metrics } = this.o;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      metrics.errors.inc({ cluster: cluster.id, stage: 'connect' });
      this.markDown(err);
      return false;
    }
    let sample: Sample;
    const release = await this.o.limiter.acquire();
    const t0 = performance.now();
    try {
      const read = await readMemberSample(client, {
        cluster: cluster.id,
        member: this.o.member.name,
        now: this.o.now,
        ...(this.o.superusers ? { superusers: this.o.superusers } : {}),
        settings: cluster.settings,
      });
      this.reportDisk(read.diskError);
      sample = { ...read.sample, collector: this.o.collectorId };
      client.release(read.diskError !== null && this.diskProblem !== 'permission');
    } catch (err) {
      client.release(true);
      metrics.errors.inc({ cluster: cluster.id, stage: 'query' });
      this.markDown(err);
      return false;
    } finally {
      release();
    }
    metrics.queryDuration.observe((performance.now() - t0) / 1000);
    this.markUp();
    if (this.o.intervalSec === null) this.intervalSec = sample.checkpoint_timeout_s;
    const checked = SampleV1.safeParse(sample);
    if (!checked.success) {
      // Our own query produced something the contract refuses: a bug to see, not to publish.
      metrics.errors.inc({ cluster: cluster.id, stage: 'validate' });
      log.error({ cluster: cluster.id, issues: checked.error.issues }, 'sample failed validation; not published');
      return true;
    }
    await this.o.publisher.publish(checked.data, this.intervalSec);
    this.last = checked.data;
    return true;
  }

  /**
   * What holds the WAL disk (docs/DISK-SAFETY.md). A failure never costs the
   * sample: it goes out without these fields, and the cause is logged once
   * per change (a role without pg_monitor, the usual one, stays that way).
   */
  private reportDisk(err: unknown): void {
    const { cluster, log, metrics } = this.o;
    if (err === null) {
      if (this.diskProblem !== '') log.info({ cluster: cluster.id }, 'reading the WAL disk again (pg_wal, replication slots, archiver)');
      this.diskProblem = '';
      return;
    }
    metrics.errors.inc({ cluster: cluster.id, stage: 'disk' });
    const problem = isPermissionDenied(err) ? 'permission' : 'error';
    if (problem !== this.diskProblem) {
      log.warn(
        { cluster: cluster.id, error: redactUrl(errorMessage(err)) },
        problem === 'permission'
          ? 'cannot read pg_wal, replication slots or the archiver (GRANT pg_monitor to the role): samples go out without them, and walrus.wal_disk_budget sees only the budget'
          : 'reading the WAL disk failed: this sample goes out without it',
      );
    }
    this.diskProblem = problem;
  }

  private markUp(): void {
    this.o.metrics.memberUp.set({ cluster: this.o.cluster.id, member: this.o.member.name }, 1);
    if (this.up !== true) {
      this.o.log.info({ cluster: this.o.cluster.id, member: this.o.member.name, server: redactUrl(this.o.member.url) }, 'cluster reachable');
    }
    const changed = this.up !== true;
    this.up = true;
    if (changed) this.o.onUpChange?.(true);
  }

  private markDown(err: unknown): void {
    this.o.metrics.memberUp.set({ cluster: this.o.cluster.id, member: this.o.member.name }, 0);
    if (this.up !== false) {
      this.o.log.error(
        { cluster: this.o.cluster.id, member: this.o.member.name, server: redactUrl(this.o.member.url), error: redactUrl(errorMessage(err)) },
        'cluster unreachable; retrying with backoff',
      );
    }
    const changed = this.up !== false;
    this.up = false;
    if (changed) this.o.onUpChange?.(false);
  }
}

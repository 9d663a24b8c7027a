import { SampleV1, WALRUS_PARAM_NAMES, type Policy, type Sample } from '@walrus/core';
import { backoffDelay, errorMessage, redactUrl, sleep, type ClusterEntry, type Limiter, type Logger } from '@walrus/runtime';
import pg from 'pg';
import type { CollectorMetrics } from './metrics.js';
import { isPermissionDenied, readPressureProbe, readSample, readWalDisk, type MemberEndpoint, type SuperuserCheck, type WalDiskFields } from '@walrus/cluster';
import type { ClusterPublisher } from './publisher.js';
import { fastSamplingApplies, pressureSince, PRESSURE_INTERVAL_SEC, ReliefTracker, type Pressure, type PressureBudget } from './pressure.js';

/** Fast sampling under pressure (pressure.ts); absent when WALRUS_PRESSURE_PROBE_SEC is 0. */
export interface PressureOptions {
  /** Seconds between two probes of a member (WALRUS_PRESSURE_PROBE_SEC). */
  probeSec: number;
  /** The service defaults of the decision parameters (the WALRUS_* variables the deciders read). */
  defaults: Policy;
  /** The cluster's allowance of pressure samples, shared by its members. */
  budget: PressureBudget;
}

export interface SamplerOptions {
  cluster: ClusterEntry;
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

/**
 * Samples one member of a cluster forever: on time while it answers, with
 * backoff while it does not, reporting each change between up and down once.
 */
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

export class ClusterSampler {
  private readonly pool: pg.Pool;
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
  private probeTimer: NodeJS.Timeout | null = null;
  private probing: Promise<void> | null = null;
  /** When the next sample is due (performance.now()), while one is scheduled. */
  private dueAt: number | null = null;
  /** While sampling every PRESSURE_INTERVAL_SEC: since when, why, how many samples. */
  private fast: { since: number; why: Pressure; samples: number; relief: ReliefTracker } | null = null;

  constructor(private readonly o: SamplerOptions) {
    this.intervalSec = o.intervalSec ?? DEFAULT_INTERVAL_SEC;
    this.pool = new pg.Pool({
      connectionString: o.member.url,
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
  get fastSampling(): boolean {
    return this.fast !== null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.fast = null;
    await settledWithin(this.probing, STOP_GRACE_MS);
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
    if (this.fast) {
      const taken = this.o.pressure?.budget.take(this.o.now().getTime()) ?? { ok: false, exhausted: true };
      if (!taken.ok && 'waitMs' in taken) {
        // Another member's pressure sample, or a timer a little early: at most one a second per cluster.
        this.schedule(taken.waitMs);
        return;
      }
      if (!taken.ok) {
        this.leaveFast('the hour\'s pressure samples are spent (WALRUS_PRESSURE_MAX_SAMPLES_PER_HOUR)');
        this.schedule(this.intervalSec * 1000 * this.jitter());
        return;
      }
      this.fast.samples += 1;
      this.o.metrics.pressureSamples.inc({ cluster: this.o.cluster.id });
    }
    const ok = await this.sampleOnce();
    if (ok) {
      this.failures = 0;
      const elapsed = performance.now() - started;
      if (this.fast && this.last && this.fast.relief.next(this.last)) this.leaveFast('relieved');
      this.schedule(Math.max(0, (this.fast ? PRESSURE_INTERVAL_SEC * 1000 : this.intervalSec * 1000 * this.jitter()) - elapsed));
      this.scheduleProbe();
    } else {
      if (this.fast) this.leaveFast('the member could not be sampled');
      this.failures += 1;
      // Never longer than an interval: a cluster back up is sampled on time.
      const maxMs = Math.min(MAX_BACKOFF_MS, this.intervalSec * 1000);
      this.schedule(backoffDelay(this.failures - 1, { initialMs: Math.min(1000, maxMs), maxMs }, this.o.random ?? Math.random));
    }
  }

  private jitter(): number {
    return 1 + JITTER * (2 * (this.o.random ?? Math.random)() - 1);
  }

  /**
   * Probes once more in WALRUS_PRESSURE_PROBE_SEC, while fast sampling can
   * serve this member: a primary (a standby's WAL is its primary's, and
   * nobody sizes from it) whose effective algorithm sizes from the rate,
   * sampled less often than every two seconds.
   */
  private scheduleProbe(): void {
    const p = this.o.pressure;
    if (!p || this.stopped || this.fast || this.probeTimer || this.probing) return;
    const last = this.last;
    // Sampled every two seconds or more often anyway: nothing to gain.
    if (this.intervalSec <= 2 * PRESSURE_INTERVAL_SEC) return;
    if (!last || last.in_recovery || !fastSamplingApplies(p.defaults, last)) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      this.probing = this.probe().finally(() => {
        this.probing = null;
        this.scheduleProbe();
      });
    }, p.probeSec * 1000);
  }

  /**
   * One pressure probe. It never delays a sample: it does not connect (it
   * runs on an idle pooled connection, or not at all), takes a query slot
   * only when one is free and nobody waits, and is skipped while a sample
   * runs or is due within a second. A failed probe is counted and logged at
   * debug level; the next sample tells whether the member is down.
   */
  private async probe(): Promise<void> {
    const p = this.o.pressure;
    const last = this.last;
    const { cluster, member, log, metrics } = this.o;
    if (!p || !last || this.stopped || this.fast || this.inFlight) return;
    if (this.dueAt === null || this.dueAt - performance.now() < 1000) return;
    if (this.pool.idleCount === 0 || p.budget.exhausted(this.o.now().getTime())) return;
    const release = this.o.limiter.tryAcquire();
    if (!release) return;
    let client: pg.PoolClient | null = null;
    let pressure: Pressure | null;
    try {
      client = await this.pool.connect();
      const reading = await readPressureProbe(client, this.o.now);
      client.release();
      client = null;
      metrics.pressureProbes.inc({ cluster: cluster.id });
      pressure = pressureSince(last, reading);
    } catch (err) {
      client?.release(true);
      metrics.pressureProbeErrors.inc({ cluster: cluster.id });
      log.debug({ cluster: cluster.id, member: member.name, error: redactUrl(errorMessage(err)) }, 'pressure probe failed');
      return;
    } finally {
      release();
    }
    // A sample that started meanwhile covers it; one taken since is what the next probe compares with.
    if (!pressure || this.stopped || this.fast || this.inFlight || this.last !== last) return;
    this.enterFast(pressure, last);
  }

  private enterFast(why: Pressure, last: Sample): void {
    const { cluster, member, log } = this.o;
    this.fast = { since: performance.now(), why, samples: 0, relief: new ReliefTracker() };
    log.info(
      { cluster: cluster.id, member: member.name, reason: why.message, pressureIntervalSec: PRESSURE_INTERVAL_SEC },
      'WAL pressure: sampling every second until relieved',
    );
    // At once, but never within a second of the member's last sample: a
    // decider's rate over a few milliseconds would be noise.
    const sinceLastMs = this.o.now().getTime() - Date.parse(last.collected_at);
    this.schedule(Math.max(0, PRESSURE_INTERVAL_SEC * 1000 - sinceLastMs));
  }

  private leaveFast(why: string): void {
    const fast = this.fast;
    if (!fast) return;
    this.fast = null;
    this.o.log.info(
      {
        cluster: this.o.cluster.id,
        member: this.o.member.name,
        reason: why,
        samples: fast.samples,
        seconds: Math.round((performance.now() - fast.since) / 100) / 10,
        intervalSec: this.intervalSec,
      },
      'WAL pressure over: back to the sample interval',
    );
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
    let sample;
    const release = await this.o.limiter.acquire();
    const t0 = performance.now();
    try {
      sample = await readSample(client, cluster.id, WALRUS_PARAM_NAMES, this.o.now, { member: this.o.member.name });
      // Once per cluster and process (a query on the first sample only), not once per sample.
      await this.o.superusers?.check(client, cluster.id);
      const disk = await this.readDisk(client);
      if (disk) sample = { ...sample, ...disk };
      client.release(disk === null && this.diskProblem !== 'permission');
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
    await this.o.publisher.publish(checked.data);
    this.last = checked.data;
    return true;
  }

  /**
   * What holds the WAL disk (docs/DISK-SAFETY.md). A failure never costs the
   * sample: it goes out without these fields, and the cause is logged once
   * per change (a role without pg_monitor, the usual one, stays that way).
   */
  private async readDisk(client: pg.PoolClient): Promise<WalDiskFields | null> {
    const { cluster, log, metrics } = this.o;
    try {
      const disk = await readWalDisk(client);
      if (this.diskProblem !== '') log.info({ cluster: cluster.id }, 'reading the WAL disk again (pg_wal, replication slots, archiver)');
      this.diskProblem = '';
      return disk;
    } catch (err) {
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
      return null;
    }
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

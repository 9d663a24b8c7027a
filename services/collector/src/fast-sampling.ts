import type { Policy, Sample } from '@walrus/core';
import { errorMessage, redactUrl, type Limiter, type Logger } from '@walrus/runtime';
import { readPressureProbe, type MemberEndpoint } from '@walrus/cluster';
import type pg from 'pg';
import type { CollectorMetrics } from './metrics.js';
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

/** What fast sampling needs to know of, and ask of, the member's sampler. */
export interface SamplerPort {
  readonly cluster: string;
  readonly member: MemberEndpoint;
  readonly pool: pg.Pool;
  /** The last sample read and published, what probes compare with. */
  last(): Sample | null;
  /** The interval this member is sampled at. */
  intervalSec(): number;
  /** Whether a sample is being read now. */
  sampling(): boolean;
  /** Milliseconds until the next sample is due, or null when none is scheduled. */
  dueInMs(): number | null;
  /** Moves the next sample to `ms` from now. */
  sampleIn(ms: number): void;
}

/** What a sample about to be taken may do, as fast sampling's budget allows. */
export type Gate = { go: true } | { go: false; waitMs: number } | { go: false; spent: true };

/**
 * The fast-sampling state machine of one member (README "Fast sampling
 * under pressure"): between samples it probes the member every
 * WALRUS_PRESSURE_PROBE_SEC; when a probe sees pressure it has the sampler
 * sample at once and then every PRESSURE_INTERVAL_SEC, within the cluster's
 * budget, until the samples show relief. It only chooses when to sample.
 */
export class FastSampling {
  private fast: { since: number; why: Pressure; samples: number; relief: ReliefTracker } | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private probing: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly s: SamplerPort,
    private readonly o: { pressure: PressureOptions; limiter: Limiter; log: Logger; metrics: CollectorMetrics; now: () => Date },
  ) {}

  /** Whether the member is sampled every PRESSURE_INTERVAL_SEC now. */
  get active(): boolean {
    return this.fast !== null;
  }

  /** Before a sample: while fast, one pressure sample is taken from the budget (or the sample waits, or fast sampling ends). */
  take(): Gate {
    if (!this.fast) return { go: true };
    const taken = this.o.pressure.budget.take(this.o.now().getTime());
    // Another member's pressure sample, or a timer a little early: at most one a second per cluster.
    if (!taken.ok && 'waitMs' in taken) return { go: false, waitMs: taken.waitMs };
    if (!taken.ok) {
      this.leave("the hour's pressure samples are spent (WALRUS_PRESSURE_MAX_SAMPLES_PER_HOUR)");
      return { go: false, spent: true };
    }
    this.fast.samples += 1;
    this.o.metrics.pressureSamples.inc({ cluster: this.s.cluster });
    return { go: true };
  }

  /** After a sample: whether the member is still sampled fast (relief ends it); the next probe is scheduled. */
  sampled(ok: boolean): boolean {
    const last = this.s.last();
    if (!ok) this.leave('the member could not be sampled');
    else if (this.fast && last && this.fast.relief.next(last)) this.leave('relieved');
    if (ok) this.scheduleProbe();
    return this.fast !== null;
  }

  async stop(graceMs: number, settled: (p: Promise<unknown> | null, ms: number) => Promise<void>): Promise<void> {
    this.stopped = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.fast = null;
    await settled(this.probing, graceMs);
  }

  /**
   * Probes once more in WALRUS_PRESSURE_PROBE_SEC, while fast sampling can
   * serve this member: a primary (a standby's WAL is its primary's, and
   * nobody sizes from it) whose effective algorithm sizes from the rate,
   * sampled less often than every two seconds.
   */
  private scheduleProbe(): void {
    const p = this.o.pressure;
    if (this.stopped || this.fast || this.probeTimer || this.probing) return;
    const last = this.s.last();
    // Sampled every two seconds or more often anyway: nothing to gain.
    if (this.s.intervalSec() <= 2 * PRESSURE_INTERVAL_SEC) return;
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
    const last = this.s.last();
    const { log, metrics } = this.o;
    const cluster = this.s.cluster;
    if (!last || this.stopped || this.fast || this.s.sampling()) return;
    const due = this.s.dueInMs();
    if (due === null || due < 1000) return;
    if (this.s.pool.idleCount === 0 || p.budget.exhausted(this.o.now().getTime())) return;
    const release = this.o.limiter.tryAcquire();
    if (!release) return;
    let client: pg.PoolClient | null = null;
    let pressure: Pressure | null;
    try {
      client = await this.s.pool.connect();
      const reading = await readPressureProbe(client, this.o.now);
      client.release();
      client = null;
      metrics.pressureProbes.inc({ cluster });
      pressure = pressureSince(last, reading);
    } catch (err) {
      client?.release(true);
      metrics.pressureProbeErrors.inc({ cluster });
      log.debug({ cluster, member: this.s.member.name, error: redactUrl(errorMessage(err)) }, 'pressure probe failed');
      return;
    } finally {
      release();
    }
    // A sample that started meanwhile covers it; one taken since is what the next probe compares with.
    if (!pressure || this.stopped || this.fast || this.s.sampling() || this.s.last() !== last) return;
    this.enter(pressure, last);
  }

  private enter(why: Pressure, last: Sample): void {
    this.fast = { since: performance.now(), why, samples: 0, relief: new ReliefTracker() };
    this.o.log.info(
      { cluster: this.s.cluster, member: this.s.member.name, reason: why.message, pressureIntervalSec: PRESSURE_INTERVAL_SEC },
      'WAL pressure: sampling every second until relieved',
    );
    // At once, but never within a second of the member's last sample: a
    // decider's rate over a few milliseconds would be noise.
    const sinceLastMs = this.o.now().getTime() - Date.parse(last.collected_at);
    this.s.sampleIn(Math.max(0, PRESSURE_INTERVAL_SEC * 1000 - sinceLastMs));
  }

  private leave(why: string): void {
    const fast = this.fast;
    if (!fast) return;
    this.fast = null;
    this.o.log.info(
      {
        cluster: this.s.cluster,
        member: this.s.member.name,
        reason: why,
        samples: fast.samples,
        seconds: Math.round((performance.now() - fast.since) / 100) / 10,
        intervalSec: this.s.intervalSec(),
      },
      'WAL pressure over: back to the sample interval',
    );
  }
}

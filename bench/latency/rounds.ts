import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ClientBase } from 'pg';
import { readSample } from '@walrus/cluster';
import {
  appliedSubject,
  ApplyResultV1,
  decisionSubject,
  DecisionV1,
  isExecutable,
  sampleMsgId,
  sampleSubject,
  WALRUS_PARAM_NAMES,
  type ApplyResult,
  type Decision,
  type Sample,
} from '@walrus/core';
import { Arrivals } from './arrivals.js';

/** Milliseconds after the sample's publication (t0) at which each thing happened. */
export interface RoundTiming {
  /** JetStream acknowledged the sample (stored, deduplicated). */
  ackMs: number;
  /** The decision reached a plain subscriber. */
  decisionMs: number;
  /** A fresh statement on a separate session first showed the new max_wal_size. */
  visibleMs: number;
  /** The applier's ApplyResult reached a plain subscriber. */
  appliedMs: number;
  /** Statements the poller ran this round. */
  polls: number;
  /** Slowest poll of the round: visibleMs is late by at most about this much. */
  pollMaxMs: number;
  /** Mean duration of one poll statement this round. */
  pollMeanMs: number;
  action: Decision['action'];
}

export interface RoundDriverOptions {
  nc: NatsConnection;
  cluster: string;
  /** Session that reads each round's real sample (as the collector would). */
  sampler: ClientBase;
  /** Separate session that watches max_wal_size. */
  poller: ClientBase;
  /** The statement it polls; its one column `setting` is max_wal_size in MB. */
  pollSql: string;
  /** The two sizes the cluster oscillates between (walrus.min_size and walrus.max). */
  lowMb: number;
  highMb: number;
  timeoutMs: number;
}

/**
 * Drives one decision at a time through the real decider and applier.
 *
 * Each round's sample is a real `readSample` of the cluster (so it carries
 * the live max_wal_size, and the applier does not answer `stale`) with one
 * change: `checkpoints_requested` is a synthetic cumulative counter, one
 * higher than last time when the cluster is at the low size (delta 1 >=
 * threshold 1: grow to low x 2, capped at walrus.max) and unchanged when it is
 * at the high size (a quiet interval: shrink to walrus.min_size). Forcing
 * real checkpoints 200 times would take minutes and measure PostgreSQL's
 * checkpointer, not walrus.
 */
export class RoundDriver {
  private readonly js: JetStreamClient;
  private readonly decisions: Arrivals<Decision>;
  private readonly results: Arrivals<ApplyResult>;
  private requested: number | null = null;
  private lastCollectedMs = 0;

  constructor(private readonly o: RoundDriverOptions) {
    this.js = jetstream(o.nc);
    this.decisions = new Arrivals(o.nc, decisionSubject(o.cluster), (d) => DecisionV1.parse(JSON.parse(new TextDecoder().decode(d))), (d) => d.sample_at);
    this.results = new Arrivals(o.nc, appliedSubject(o.cluster), (d) => ApplyResultV1.parse(JSON.parse(new TextDecoder().decode(d))), (r) => r.decision_id);
  }

  /** Subscriptions are live on the server before the first sample goes out. */
  async ready(): Promise<void> {
    await this.o.nc.flush();
  }

  /** collected_at must be strictly increasing (the decider ignores anything not newer, to the millisecond). */
  private readonly clock = (): Date => {
    const ms = Math.max(Date.now(), this.lastCollectedMs + 1);
    this.lastCollectedMs = ms;
    return new Date(ms);
  };

  private async publish(sample: Sample): Promise<void> {
    await this.js.publish(sampleSubject(sample.cluster), JSON.stringify(sample), { msgID: sampleMsgId(sample.cluster, sample.collected_at) });
  }

  /** The first sample only sets the decider's baseline: no decision. */
  async baseline(): Promise<void> {
    const sample = await readSample(this.o.sampler, this.o.cluster, WALRUS_PARAM_NAMES, this.clock);
    this.requested = sample.checkpoints_requested;
    await this.publish(sample);
  }

  async round(): Promise<RoundTiming> {
    const { cluster, lowMb, highMb, timeoutMs } = this.o;
    if (this.requested === null) throw new Error('baseline() must run before the first round');
    const live = await readSample(this.o.sampler, cluster, WALRUS_PARAM_NAMES, this.clock);
    const current = live.max_wal_size_mb;
    if (current !== lowMb && current !== highMb) {
      throw new Error(`max_wal_size is ${current} MB, expected ${lowMb} or ${highMb} MB: something else changed it`);
    }
    const grow = current === lowMb;
    if (grow) this.requested += 1;
    const expected = grow ? highMb : lowMb;
    const sample: Sample = { ...live, checkpoints_requested: this.requested };

    const t0 = performance.now();
    await this.publish(sample);
    const ackMs = performance.now() - t0;

    let polls = 0;
    let pollMaxMs = 0;
    let pollTotalMs = 0;
    let visibleAt: number;
    for (;;) {
      const p0 = performance.now();
      const { rows } = await this.o.poller.query<{ setting: string }>(this.o.pollSql);
      const p1 = performance.now();
      polls += 1;
      pollMaxMs = Math.max(pollMaxMs, p1 - p0);
      pollTotalMs += p1 - p0;
      if (Number(rows[0]?.setting) === expected) {
        visibleAt = p1;
        break;
      }
      if (p1 - t0 > timeoutMs) {
        const d = this.decisions.peek(sample.collected_at)?.value;
        const r = d ? this.results.peek(d.id)?.value : undefined;
        throw new Error(
          `max_wal_size did not become ${expected} MB within ${timeoutMs} ms of the sample (still ${rows[0]?.setting ?? '?'} MB); ` +
            `decision: ${d ? `${d.action} ${d.old_size_mb} -> ${d.new_size_mb} MB (${d.reason})` : 'none received'}; ` +
            `apply result: ${r ? `${r.status}${r.error ? ` (${r.error})` : ''}` : 'none received'}`,
        );
      }
    }

    const decision = await this.decisions.wait(sample.collected_at, timeoutMs, 'decision');
    const d = decision.value;
    if (!isExecutable(d.action) || d.old_size_mb !== current || d.new_size_mb !== expected) {
      throw new Error(`unexpected decision ${d.action} ${d.old_size_mb} -> ${d.new_size_mb} MB (wanted ${current} -> ${expected} MB): ${d.reason}`);
    }
    const result = await this.results.wait(d.id, timeoutMs, 'apply result');
    if (result.value.status !== 'applied') {
      throw new Error(`decision ${d.id} was not applied: ${result.value.status} (${result.value.error ?? 'no error text'})`);
    }
    return {
      ackMs,
      decisionMs: decision.atMs - t0,
      visibleMs: visibleAt - t0,
      appliedMs: result.atMs - t0,
      polls,
      pollMaxMs,
      pollMeanMs: pollTotalMs / polls,
      action: d.action,
    };
  }

  close(): void {
    this.decisions.unsubscribe();
    this.results.unsubscribe();
  }
}

import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { memberSampleMsgId, SAMPLE_INTERVAL_HEADER, sampleMsgId, sampleSubject, type Sample } from '@walrus/core';
import { PREV_SEQ_HEADER, retry, type Logger } from '@walrus/runtime';
import type { CollectorMetrics } from './metrics.js';

/** Between the attempts to publish one sample. */
const PUBLISH_BACKOFF = { initialMs: 500, maxMs: 1000 };

/**
 * Publishes one cluster's samples, whichever member they come from, one at
 * a time. The members' samples share the cluster's subject, and each
 * carries `Walrus-Prev-Seq`, the stream sequence of the cluster's previous
 * sample: a decider that evaluated exactly that one skips the stream
 * search. Were two members' publishes in flight at once, each could name
 * the same previous sample and a decider could skip the other's; in turn,
 * the header is exact.
 *
 * The message id: `<cluster>:<collected_at ms>` for a cluster of one
 * member (as always), `<cluster>:<member>:<collected_at ms>` for several,
 * so that members sampled in the same millisecond are both stored.
 */
export class ClusterPublisher {
  private readonly js: JetStreamClient;
  /** Stream sequence of this cluster's previous sample, for the decider's order check. */
  private lastSeq: number | null;
  private queue: Promise<unknown> = Promise.resolve();
  stopped = false;

  constructor(
    private readonly o: {
      cluster: string;
      multiMember: boolean;
      nc: NatsConnection;
      log: Logger;
      metrics: CollectorMetrics;
      /** The stream sequence of the cluster's last stored sample, when this collector takes the cluster over from another. */
      prevSeq?: number | null;
    },
  ) {
    this.js = jetstream(o.nc);
    this.lastSeq = o.prevSeq ?? null;
  }

  /**
   * Publishes after the cluster's publishes in hand; resolves when done
   * (never rejects: a lost sample is logged). `intervalSec` goes in a
   * header: the interval the cluster is sampled at, which `no_samples` counts in.
   */
  publish(sample: Sample, intervalSec: number): Promise<void> {
    const next = this.queue.then(() => this.publishNow(sample, intervalSec));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Resolves once every publish in hand has finished: a cluster handed to another collector goes only after its last sample is stored. */
  drained(): Promise<void> {
    return this.queue.then(() => undefined);
  }

  private async publishNow(sample: Sample, intervalSec: number): Promise<void> {
    const { cluster, log, metrics } = this.o;
    const msgID =
      this.o.multiMember && sample.member !== undefined ? memberSampleMsgId(cluster, sample.member, sample.collected_at) : sampleMsgId(cluster, sample.collected_at);
    try {
      // Three attempts under the same message id: JetStream stores a retried publish once.
      const ack = await retry(
        () => {
          const h = headers();
          if (this.lastSeq !== null) h.set(PREV_SEQ_HEADER, String(this.lastSeq));
          h.set(SAMPLE_INTERVAL_HEADER, String(intervalSec));
          return this.js.publish(sampleSubject(cluster), JSON.stringify(sample), { msgID, timeout: 5000, headers: h });
        },
        {
          maxAttempts: 3,
          backoff: PUBLISH_BACKOFF,
          retryable: () => !this.stopped,
          onRetry: () => metrics.errors.inc({ cluster, stage: 'publish' }),
        },
      );
      this.lastSeq = ack.seq;
      metrics.published.inc({ cluster });
    } catch (err) {
      metrics.errors.inc({ cluster, stage: 'publish' });
      // The next sample carries the cumulative counters, so the decider
      // loses no checkpoint; only this interval's resolution is lost.
      log.warn({ err, cluster, member: sample.member }, 'could not publish sample; the next one will cover this interval');
    }
  }
}

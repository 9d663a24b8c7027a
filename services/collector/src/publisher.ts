import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { memberSampleMsgId, sampleMsgId, sampleSubject, type Sample } from '@walrus/core';
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
  private lastSeq: number | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  stopped = false;

  constructor(
    private readonly o: { cluster: string; multiMember: boolean; nc: NatsConnection; log: Logger; metrics: CollectorMetrics },
  ) {
    this.js = jetstream(o.nc);
  }

  /** Publishes after the cluster's publishes in hand; resolves when done (never rejects: a lost sample is logged). */
  publish(sample: Sample): Promise<void> {
    const next = this.queue.then(() => this.publishNow(sample));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async publishNow(sample: Sample): Promise<void> {
    const { cluster, log, metrics } = this.o;
    const msgID =
      this.o.multiMember && sample.member !== undefined ? memberSampleMsgId(cluster, sample.member, sample.collected_at) : sampleMsgId(cluster, sample.collected_at);
    try {
      // Three attempts under the same message id: JetStream stores a retried publish once.
      const ack = await retry(
        () => {
          const h = headers();
          if (this.lastSeq !== null) h.set(PREV_SEQ_HEADER, String(this.lastSeq));
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

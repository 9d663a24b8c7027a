import { SampleV1, sampleSubject, STREAM_SAMPLES, type Sample } from '@walrus/core';
import { decodeMessage, type JetStreamRequests } from '@walrus/runtime';

export interface LoggedSample {
  seq: number;
  /** When JetStream stored it (the NATS server's clock), epoch ms. */
  time: number;
  sample: Sample;
}

/**
 * Reads a cluster's samples straight from the WALRUS_SAMPLES stream, by
 * subject and sequence. This is what keeps one cluster's samples in order
 * across decider processes sharing one consumer: whichever decider holds a
 * sample first evaluates, from the stream, every earlier sample of that
 * cluster nobody has evaluated yet (see docs/SCALING.md).
 *
 * It uses the stream leader's message get ($JS.API.STREAM.MSG.GET with
 * next_by_subj, NATS 2.9), not a direct get from a replica, which may lag.
 */
export class SampleLog {
  constructor(private readonly requests: JetStreamRequests) {}

  /** The first stored message on the cluster's subject at or after `seq`, or null. */
  async next(cluster: string, seq: number): Promise<{ seq: number; time: number; sample: Sample | null } | null> {
    const m = await this.requests.nextBySubjectFromLeader(STREAM_SAMPLES, sampleSubject(cluster), seq);
    if (!m) return null;
    const decoded = decodeMessage(SampleV1, m.data);
    // An invalid message is dead-lettered by whoever receives it; here it is only skipped.
    const sample = decoded.ok && decoded.value.cluster === cluster ? decoded.value : null;
    return { seq: m.seq, time: m.timeMs, sample };
  }

  /** The cluster's last stored sample (null when there is none, or it is not a valid sample of it). */
  async last(cluster: string): Promise<LoggedSample | null> {
    const m = await this.requests.lastBySubjectFromLeader(STREAM_SAMPLES, sampleSubject(cluster));
    if (!m) return null;
    const decoded = decodeMessage(SampleV1, m.data);
    return decoded.ok && decoded.value.cluster === cluster ? { seq: m.seq, time: m.timeMs, sample: decoded.value } : null;
  }

  /**
   * The valid samples of `cluster` stored after `afterSeq` and before `beforeSeq`, in order.
   */
  async between(cluster: string, afterSeq: number, beforeSeq: number): Promise<LoggedSample[]> {
    const out: LoggedSample[] = [];
    for (let from = afterSeq + 1; from < beforeSeq; ) {
      const m = await this.next(cluster, from);
      if (!m || m.seq >= beforeSeq) break;
      if (m.sample) out.push({ seq: m.seq, time: m.time, sample: m.sample });
      from = m.seq + 1;
    }
    return out;
  }
}

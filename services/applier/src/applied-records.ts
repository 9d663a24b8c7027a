import { AppliedRecordV1, KV_APPLIED_BUCKET, type AppliedRecord } from '@walrus/core';
import { isWrongLastSequence, openBucket, type JetStreamRequests, type NatsConnection } from '@walrus/runtime';

/** Another applier moved the cluster's record on since it was read. */
export class RecordConflictError extends Error {
  override name = 'RecordConflictError';
}

const decoder = new TextDecoder();

/**
 * The per-cluster records of the appliers sharing the registry (core's
 * fleet/applied.ts), read from the bucket's stream leader and written with
 * the revision they were read at, as the deciders keep walrus_state.
 */
export class AppliedRecords {
  private readonly stream = `KV_${KV_APPLIED_BUCKET}`;

  private constructor(private readonly requests: JetStreamRequests) {}

  static async open(nc: NatsConnection, requests: JetStreamRequests, o: { provision: boolean; replicas: number }): Promise<AppliedRecords> {
    await openBucket(nc, KV_APPLIED_BUCKET, o);
    return new AppliedRecords(requests);
  }

  private subject(cluster: string): string {
    return `$KV.${KV_APPLIED_BUCKET}.${cluster}`;
  }

  /** The cluster's record (null when none, or unreadable: then the next write replaces it) and the revision read. */
  async load(cluster: string): Promise<{ record: AppliedRecord | null; revision: number }> {
    const m = await this.requests.lastBySubjectFromLeader(this.stream, this.subject(cluster));
    if (!m) return { record: null, revision: 0 };
    if ((m.header('KV-Operation') ?? 'PUT') !== 'PUT' || m.data.length === 0) return { record: null, revision: m.seq };
    try {
      const parsed = AppliedRecordV1.safeParse(JSON.parse(decoder.decode(m.data)));
      return { record: parsed.success ? parsed.data : null, revision: m.seq };
    } catch {
      return { record: null, revision: m.seq };
    }
  }

  /** Writes the record if it is still at `revision`; else RecordConflictError. Returns the new revision. */
  async save(cluster: string, record: AppliedRecord, revision: number): Promise<number> {
    try {
      return (await this.requests.publish(this.subject(cluster), JSON.stringify(record), { expectedLastSubjectSeq: revision })).seq;
    } catch (err) {
      if (isWrongLastSequence(err)) throw new RecordConflictError(`the applied record of ${cluster} changed since it was read`, { cause: err });
      throw err;
    }
  }
}

import { readFile } from 'node:fs/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { decodeMessage } from '@walrus/runtime';
import { SampleV1, sampleSubject, STREAM_SAMPLES, type Sample } from '@walrus/core';

export interface ReadResult {
  samples: Sample[];
  /** Lines or messages that were not a valid Sample v1 (skipped, reported). */
  invalid: string[];
}

/** A JSON-lines file of Sample v1 (one per line; blank lines and lines starting with # are ignored). */
export async function readSamplesFile(path: string): Promise<ReadResult> {
  const text = await readFile(path, 'utf8');
  const samples: Sample[] = [];
  const invalid: string[] = [];
  text.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const decoded = decodeMessage(SampleV1, new TextEncoder().encode(t));
    if (decoded.ok) samples.push(decoded.value);
    else invalid.push(`${path}:${i + 1}: ${decoded.reason}`);
  });
  return { samples, invalid };
}

/**
 * Every stored sample of `cluster` in the WALRUS_SAMPLES stream, in order,
 * read by subject with the stream's message get (next_by_subj, NATS 2.9):
 * no consumer is created, nothing is acknowledged, the services are not disturbed.
 */
export async function readSamplesStream(natsUrl: string, cluster: string, limit: number): Promise<ReadResult> {
  const nc = await connect({ servers: natsUrl, name: 'walrus-simulate' });
  try {
    const jsm = await jetstreamManager(nc);
    const samples: Sample[] = [];
    const invalid: string[] = [];
    for (let seq = 1; samples.length < limit; ) {
      const query = { seq, next_by_subj: sampleSubject(cluster) } as unknown as { seq: number };
      // null past the last sample: nats.js answers JetStream's "no message found" (10037) so, by its code.
      const m = await jsm.streams.getMessage(STREAM_SAMPLES, query);
      if (!m) break;
      const decoded = decodeMessage(SampleV1, m.data);
      if (decoded.ok) samples.push(decoded.value);
      else invalid.push(`${STREAM_SAMPLES} seq ${m.seq}: ${decoded.reason}`);
      seq = m.seq + 1;
    }
    return { samples, invalid };
  } finally {
    await nc.close();
  }
}

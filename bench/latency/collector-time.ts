import type { ClientBase } from 'pg';
import { readSample } from '@walrus/cluster';
import { WALRUS_PARAM_NAMES } from '@walrus/core';

/**
 * The collector's database time per sample: `readSample` back to back on one
 * connection, timed exactly where the collector times it for
 * walrus_collector_query_duration_seconds (after the pool handed out the
 * connection, until the parsed Sample is back). The first calls are not
 * counted: they include the once-per-connection server_version_num lookup
 * and the server's first planning of the statement.
 */
export async function measureReadSample(client: ClientBase, cluster: string, count: number, warmup: number): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const t0 = performance.now();
    await readSample(client, cluster, WALRUS_PARAM_NAMES, () => new Date());
    const ms = performance.now() - t0;
    if (i >= warmup) durations.push(ms);
  }
  return durations;
}

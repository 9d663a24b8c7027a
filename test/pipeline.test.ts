import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxWalSizeMb, requestedCheckpoints, writeWal } from './harness/load.js';
import { cleanupAll, PG_VERSIONS, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';

afterAll(cleanupAll);

// The whole pipeline on each supported version: real WAL forces real
// checkpoints, and walrus raises max_wal_size on the server.
describe.each(PG_VERSIONS)('pipeline - PostgreSQL %i', (version) => {
  const cluster = `pg${version}`;
  let nats: NatsServer;
  let pgc: PostgresCluster;
  let walrus: WalrusProcess;
  let watch: SubjectWatch;
  let listener: pg.Client;
  const notifications: Record<string, unknown>[] = [];

  beforeAll(async () => {
    [nats, pgc] = await Promise.all([
      startNats(),
      startPostgres({ version, config: { max_wal_size: '32MB', checkpoint_timeout: '30s' } }),
    ]);
    await pgc.query('CREATE DATABASE history');
    watch = await SubjectWatch.open(nats.url, [`walrus.decision.${cluster}`, `walrus.applied.${cluster}`]);
    walrus = startWalrus(['all'], {
      NATS_URL: nats.url,
      WALRUS_CLUSTERS: `${cluster}=${pgc.url}`,
      HISTORY_DATABASE_URL: pgc.urlFor('history'),
      WALRUS_SAMPLE_INTERVAL: '2',
    });
    await walrus.waitForLog((l) => l.msg === 'started', 'walrus all started');
    // The historian has created schema walrus by now; listen as a DBA would.
    listener = await pgc.connect({ database: 'history' });
    listener.on('notification', (n) => notifications.push(JSON.parse(n.payload ?? '{}') as Record<string, unknown>));
    await listener.query('LISTEN walrus_events');
  });

  afterAll(async () => {
    await walrus?.stop();
    await watch?.close();
  });

  it('forced checkpoints give one applied increase, one history row and NOTIFY events', async () => {
    // Let the collector take its baseline before the load starts.
    await walrus.waitForLog((l) => l.msg === 'cluster reachable', 'first sample');
    const before = await requestedCheckpoints(pgc);
    await writeWal(pgc, { rounds: 12 });
    expect(await requestedCheckpoints(pgc)).toBeGreaterThanOrEqual(before + 2);

    const decision = await watch.next(`walrus.decision.${cluster}`, (d) => d.action === 'increase', 'an increase decision');
    expect(decision).toMatchObject({ v: 1, cluster, old_size_mb: 32, algorithm: 'multiplicative' });
    // pg_walrus's rule, counting requested checkpoints over the last checkpoint_timeout (2 s samples may see them one at a time).
    const metadata = decision.metadata as { delta: number; counted_checkpoints?: number; multiplier: number };
    const counted = metadata.counted_checkpoints ?? metadata.delta;
    expect(counted).toBeGreaterThanOrEqual(2);
    expect(counted).toBeGreaterThanOrEqual(decision.forced_checkpoints as number);
    expect(metadata.multiplier).toBe(counted + 1);
    expect(decision.new_size_mb).toBe(32 * metadata.multiplier);

    const applied = await watch.next(`walrus.applied.${cluster}`, (r) => r.decision_id === decision.id, 'its apply result');
    expect(applied).toMatchObject({ status: 'applied', max_wal_size_mb: decision.new_size_mb, error: null });
    expect(await maxWalSizeMb(pgc)).toBe(decision.new_size_mb);

    const rows = await waitFor(
      async () => {
        const r = await pgc.query<{ action: string; apply_status: string | null; new_size_mb: number }>(
          'SELECT action, apply_status, new_size_mb FROM walrus.history WHERE decision_id = $1',
          [decision.id],
          { database: 'history' },
        );
        return r[0]?.apply_status ? r : null;
      },
      { what: 'the history row with its apply status', timeoutMs: 30_000 },
    );
    expect(rows).toEqual([{ action: 'increase', apply_status: 'applied', new_size_mb: decision.new_size_mb }]);

    await waitFor(() => notifications.find((n) => n.event === 'outcome' && n.decision_id === decision.id), {
      what: 'NOTIFY of the outcome',
      timeoutMs: 15_000,
    });
    expect(notifications.find((n) => n.event === 'decision' && n.decision_id === decision.id)).toMatchObject({
      cluster,
      action: 'increase',
      old_size_mb: 32,
      new_size_mb: decision.new_size_mb,
      forced_checkpoints: decision.forced_checkpoints,
    });
  });
});

import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { applier } from '@walrus/applier';
import { SUPERUSER_WARNING } from '@walrus/cluster';
import { collector } from '@walrus/collector';
import { control } from '@walrus/control';
import { apiSubject, decisionSubject, type Decision } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { maxWalSizeMb } from './harness/load.js';
import { publishJs, startInProcess, type InProcessService } from './harness/in-process.js';
import { startWalrus, type LogLine } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';

// Every service that connects to a monitored cluster says, once per cluster
// and process, that it connects as a superuser: not once per sample, status
// request or decision, and never for a role of least privilege.
let nats: NatsServer;
let pgc: PostgresCluster;
let watch: SubjectWatch;
let nc: NatsConnection;
let clusters: string;

beforeAll(async () => {
  [nats, pgc] = await Promise.all([startNats(), startPostgres({ version: 17, config: { max_wal_size: '32MB' } })]);
  await pgc.query('CREATE DATABASE history');
  await pgc.query("CREATE ROLE walrus_lp LOGIN PASSWORD 'lp'");
  await pgc.query('GRANT pg_monitor TO walrus_lp');
  await pgc.query('GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO walrus_lp');
  await pgc.query('GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO walrus_lp');
  // The same server under two ids: as the superuser postgres, and as a role of least privilege.
  clusters = `su=${pgc.url},lp=${pgc.urlFor('postgres', 'walrus_lp')}`;
  watch = await SubjectWatch.open(nats.url, ['walrus.sample.>', 'walrus.applied.>']);
  nc = await connect({ servers: nats.url, name: 'superuser-test' });
});
afterAll(async () => {
  await nc?.close();
  await watch?.close();
  await cleanupAll();
});

const warnings = (lines: LogLine[]) => lines.filter((l) => l.msg === SUPERUSER_WARNING);

async function run<T>(s: InProcessService, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await s.stop();
  }
}

/** Waits for `n` more samples of the cluster than there are now. */
async function moreSamples(cluster: string, n: number): Promise<void> {
  const before = watch.on(`walrus.sample.${cluster}`).length;
  await waitFor(() => watch.on(`walrus.sample.${cluster}`).length >= before + n || null, { what: `${n} samples of ${cluster}`, timeoutMs: 30_000 });
}

describe('superuser warning - once per cluster and process, from every service that connects to a cluster', () => {
  it('the collector warns once, not once per sample', async () => {
    const s = await startInProcess(collector, { WALRUS_CLUSTERS: clusters, WALRUS_SAMPLE_INTERVAL: '1' }, nats.url);
    await run(s, async () => {
      await Promise.all([moreSamples('su', 4), moreSamples('lp', 4)]);
      expect(warnings(s.lines)).toEqual([expect.objectContaining({ cluster: 'su', role: 'postgres', msg: expect.stringMatching(/walrus grants <role>/) })]);
    });
  });

  it('the control service warns once on its live reads, not once per request', async () => {
    const s = await startInProcess(control, { WALRUS_CLUSTERS: clusters, WALRUS_PAGE: 'off' }, nats.url);
    await run(s, async () => {
      for (let i = 0; i < 3; i++) {
        for (const cluster of ['su', 'lp']) {
          const reply = (await nc.request(apiSubject('status'), JSON.stringify({ cluster }), { timeout: 10_000 })).json<{ ok: boolean; result: { clusters: Array<{ reachable_by: string }> } }>();
          // A live read each time: the warning comes from the connection this request made.
          expect(reply).toMatchObject({ ok: true, result: { clusters: [{ reachable_by: 'live' }] } });
        }
      }
      expect(warnings(s.lines)).toEqual([expect.objectContaining({ cluster: 'su', role: 'postgres' })]);
    });
  });

  it('the applier warns once at start-up, not again when it applies', async () => {
    const s = await startInProcess(applier, { WALRUS_CLUSTERS: clusters }, nats.url);
    await run(s, async () => {
      await waitFor(() => warnings(s.lines).length > 0 || null, { what: 'the start-up warning', timeoutMs: 20_000 });
      for (const cluster of ['su', 'lp']) {
        const d = decision(cluster, await maxWalSizeMb(pgc));
        await publishJs(nc, decisionSubject(cluster), d, `decision:${d.id}`);
        await watch.next(`walrus.applied.${cluster}`, (r) => r.decision_id === d.id, `the outcome of the decision for ${cluster}`, 30_000);
      }
      expect(warnings(s.lines)).toEqual([expect.objectContaining({ cluster: 'su', role: 'postgres' })]);
    });
  });

  it('walrus all warns once per cluster for its three services', async () => {
    const p = startWalrus(['all'], { NATS_URL: nats.url, WALRUS_CLUSTERS: clusters, WALRUS_SAMPLE_INTERVAL: '1', HISTORY_DATABASE_URL: pgc.urlFor('history'), WALRUS_PAGE: 'off' });
    try {
      await p.waitForLog((l) => l.msg === 'started', 'started');
      await moreSamples('su', 3);
      const reply = (await nc.request(apiSubject('status'), JSON.stringify({ cluster: 'su' }), { timeout: 10_000 })).json<{ ok: boolean }>();
      expect(reply.ok).toBe(true);
      // And the applier has connected: an outcome (applied or stale, whichever) needs its connection.
      const d = decision('su', await maxWalSizeMb(pgc));
      await publishJs(nc, decisionSubject('su'), d, `decision:${d.id}`);
      await watch.next('walrus.applied.su', (r) => r.decision_id === d.id, 'the outcome of the decision', 30_000);
      expect(warnings(p.lines).map((l) => l.cluster)).toEqual(['su']);
    } finally {
      await p.stop();
    }
  });
});

function decision(cluster: string, currentMb: number): Decision {
  return {
    v: 1,
    id: randomUUID(),
    cluster,
    decided_at: new Date().toISOString(),
    sample_at: new Date().toISOString(),
    action: 'increase',
    old_size_mb: currentMb,
    new_size_mb: currentMb + 16,
    forced_checkpoints: 3,
    checkpoint_timeout_sec: 300,
    algorithm: 'multiplicative',
    reason: 'test',
    metadata: {},
  };
}

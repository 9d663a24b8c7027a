import { afterAll, describe, expect, it } from 'vitest';
import { printLogsOnFailure } from '../harness/failure-logs.js';
import { writeWal } from '../harness/load.js';
import { cleanupAll, freePort, startPostgres, waitFor, type PostgresCluster } from '../harness/mod.js';
import { startNatsCluster, type NatsCluster } from '../harness/nats-cluster.js';
import { startWalrus, type WalrusProcess } from '../harness/walrus-process.js';
import { SubjectWatch } from '../harness/watch.js';
import { defined } from '../harness/defined.js';

// The production start of the three-node profile (or a NATS rolling
// restart): walrus processes and NATS nodes come up at the same time, and
// the JetStream cluster spends its first seconds without a meta leader,
// then electing the leaders of the replicated streams walrus creates.
// Here the five processes and the first node start at the same moment; the
// other two nodes join once every process reports (on /readyz) that it waits
// for JetStream, which one node of three cannot provide (no quorum): so the
// test does not depend on who wins the race.
const SERVICES = ['collector', 'decider', 'applier', 'historian', 'control'] as const;
const CLUSTER = 'forming';

let pg: PostgresCluster;
let nats: NatsCluster | undefined;
let watch: SubjectWatch | undefined;
const procs: Record<string, WalrusProcess> = {};

afterAll(async () => {
  await Promise.all(Object.values(procs).map((p) => p.stop(10_000)));
  await watch?.close();
  await cleanupAll();
});

describe('faults - every service started together with a three-node JetStream cluster that is still forming', () => {
  it('none exits, each becomes ready, and a sample flows to a decision and an applied outcome', async () => {
    printLogsOnFailure(() => procs);
    pg = await startPostgres({ version: 17, config: { max_wal_size: '32MB', checkpoint_timeout: '30s' } });
    await pg.query('CREATE DATABASE history');
    const clientPorts = await Promise.all([freePort(), freePort(), freePort()]);
    const env = {
      NATS_URL: clientPorts.map((p) => `nats://127.0.0.1:${p}`).join(','),
      WALRUS_JS_REPLICAS: '3',
      WALRUS_CLUSTERS: `${CLUSTER}=${pg.url}`,
      HISTORY_DATABASE_URL: pg.urlFor('history'),
      WALRUS_SAMPLE_INTERVAL: '2',
    };

    // At the same moment: the five processes and the first node.
    for (const s of SERVICES) procs[s] = startWalrus([s], env);
    const cluster = (nats = await startNatsCluster(3, { clientPorts, ready: 'listening', startFirst: 1 }));

    const http: Record<string, number> = {};
    for (const s of SERVICES) {
      http[s] = (await defined(procs[s]).waitForLog((l) => l.msg === 'serving /healthz, /readyz and /metrics', `${s} serving HTTP`)).metricsPort as number;
    }
    for (const s of SERVICES) {
      const waiting = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${http[s]}/readyz`);
          const body = (await res.json()) as { ready: boolean; waiting?: Array<{ for: string; reason: string }> };
          return body.waiting?.some((w) => w.for.startsWith('JetStream streams')) ? { status: res.status, body } : null;
        },
        { what: `${s} reporting that it waits for JetStream`, timeoutMs: 60_000 },
      );
      expect([s, waiting.status, waiting.body.ready]).toEqual([s, 503, false]);
    }
    await cluster.startRest();

    const ports: Record<string, number> = {};
    for (const s of SERVICES) {
      const started = await defined(procs[s]).waitForLog((l) => l.msg === 'started', `${s} started`, 110_000);
      ports[s] = started.metricsPort as number;
    }
    for (const s of SERVICES) {
      const ready = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${ports[s]}/readyz`);
          return res.status === 200 ? ((await res.json()) as { ready: boolean }) : null;
        },
        { what: `${s} ready`, timeoutMs: 30_000 },
      );
      expect(ready).toEqual({ ready: true });
    }

    // Every wait was reported once (when it began) and its end once, never per retry.
    for (const s of SERVICES) {
      const lines = defined(procs[s]).lines;
      const begun = lines.filter((l) => l.msg === 'waiting for a dependency; retrying with backoff').map((l) => String(l.waitingFor));
      const ended = lines.filter((l) => l.msg === 'dependency available; going on').map((l) => String(l.waitedFor));
      expect([s, [...begun].sort()]).toEqual([s, [...new Set(begun)].sort()]);
      expect([s, [...ended].sort()]).toEqual([s, [...begun].sort()]);
    }

    // And it works: forced checkpoints become a decision, applied on the server.
    watch = await SubjectWatch.open(defined(nats.nodes[0]).url, [`walrus.decision.${CLUSTER}`, `walrus.applied.${CLUSTER}`]);
    await defined(procs.collector).waitForLog((l) => l.msg === 'cluster reachable' && l.cluster === CLUSTER, 'the first sample');
    await writeWal(pg, { rounds: 12 });
    const decision = await watch.next(`walrus.decision.${CLUSTER}`, (d) => d.action === 'increase', 'an increase decision', 90_000);
    expect(decision).toMatchObject({ cluster: CLUSTER, old_size_mb: 32 });
    const applied = await watch.next(`walrus.applied.${CLUSTER}`, (r) => r.decision_id === decision.id, 'its apply result', 90_000);
    expect(applied).toMatchObject({ status: 'applied', max_wal_size_mb: decision.new_size_mb, error: null });

    for (const s of SERVICES) expect([s, defined(procs[s]).proc.exitCode]).toEqual([s, null]);
    expect(Object.values(procs).flatMap((p) => p.lines.filter((l) => /fatal/i.test(l.msg)))).toEqual([]);
  });
});

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { decisionMsgId, decisionSubject } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from '../harness/mod.js';
import { startWalrus, type WalrusProcess } from '../harness/walrus-process.js';
import { decisionFor } from './decisions.js';
import { defined } from '../harness/defined.js';
import { waitSettled } from '../harness/consumers.js';

let nats: NatsServer;
let pgc: PostgresCluster;
let nc: NatsConnection;
const procs: WalrusProcess[] = [];

beforeAll(async () => {
  [nats, pgc] = await Promise.all([startNats(), startPostgres({ version: 17 })]);
  await pgc.query('CREATE DATABASE history');
  nc = await connect({ servers: nats.url, name: 'fault-historian' });
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop(5000)));
  await nc?.close();
  await cleanupAll();
});

function startHistorian(): WalrusProcess {
  const p = startWalrus(['historian'], { NATS_URL: nats.url, HISTORY_DATABASE_URL: pgc.urlFor('history'), LOG_LEVEL: 'info' });
  procs.push(p);
  return p;
}

const rowsPerDecision = async () =>
  pgc.query<{ decision_id: string; n: string }>('SELECT decision_id, count(*) AS n FROM walrus.history GROUP BY decision_id', [], { database: 'history' });

describe('faults - historian killed between receiving and acknowledging', () => {
  it('stores exactly one history row per decision afterwards', async () => {
    let historian = startHistorian();
    await historian.waitForLog((l) => l.msg === 'started', 'historian started', 60_000);
    const js = jetstream(nc);
    const publish = async (from: number, to: number) => {
      for (let n = from; n < to; n++) {
        const d = decisionFor(`hist-${n % 5}`, n);
        await js.publish(decisionSubject(d.cluster), JSON.stringify(d), { msgID: decisionMsgId(d.id) });
      }
    };
    await publish(0, 20);
    await waitFor(async () => (await rowsPerDecision()).length === 20 || null, { what: '20 rows', timeoutMs: 30_000 });

    // Hold the table so that the historian's next insert waits: it has the
    // messages in hand, unacknowledged, when it is killed.
    const locker = await pgc.connect({ database: 'history' });
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE walrus.history IN ACCESS EXCLUSIVE MODE');
    await publish(20, 40);
    await waitFor(
      async () =>
        defined((
          await pgc.query<{ n: string }>(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = 'history' AND wait_event_type = 'Lock' AND query ILIKE '%walrus.history%'",
          )
        )[0]).n !== '0' || null,
      { what: 'the historian waiting on the locked table', timeoutMs: 30_000 },
    );
    historian.proc.kill('SIGKILL');
    await historian.exited;
    await locker.query('COMMIT');
    await locker.end();

    historian = startHistorian();
    // Redelivery after the ack wait (30 s) at the latest.
    await waitFor(async () => (await rowsPerDecision()).length === 40 || null, { what: '40 decisions in history', timeoutMs: 90_000, intervalMs: 500 });
    // The same decisions again under other message ids (as after the duplicate window): stored once all the same.
    for (let n = 0; n < 40; n++) {
      const d = decisionFor(`hist-${n % 5}`, n);
      await js.publish(decisionSubject(d.cluster), JSON.stringify(d), { msgID: `again:${d.id}` });
    }
    // Then count, once the historian has acknowledged every message: the 40
    // copies, and the 20 the killed historian held (a second copy of one of
    // those would come as their redelivery, after the ack wait).
    await waitSettled(nc, 'WALRUS_DECISIONS', 'walrus.decision.>', { what: 'every decision stored and acknowledged', timeoutMs: 90_000 });
    const rows = await rowsPerDecision();
    expect(rows).toHaveLength(40);
    expect(rows.every((r) => r.n === '1')).toBe(true);
    expect(historian.proc.exitCode).toBeNull();
  });
});

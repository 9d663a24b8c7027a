/**
 * Appliers sharing the registry (issue 21): two applier processes on one
 * durable consumer, each cluster's decisions applied one at a time and in
 * order whichever applier is handed them, and a `kill -9` with a decision
 * in hand that loses nothing and applies nothing twice. ALTER SYSTEM runs
 * are counted in the server's own log (log_statement = ddl).
 */
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { control } from '@walrus/control';
import { runControlCommand, type Output } from '@walrus/cli';
import { KV_APPLIED_BUCKET, type Decision } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defined } from './harness/defined.js';
import { startInProcess, type InProcessService } from './harness/in-process.js';
import { maxWalSizeMb } from './harness/load.js';
import { testDecision } from './harness/messages.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';
import { waitSettled } from './harness/consumers.js';

/** The event that proves "nothing more comes": the shared consumer has acknowledged every decision of the cluster. */
const settled = () => waitSettled(nc, 'WALRUS_DECISIONS', 'walrus.decision.app-a', { what: 'every decision handled' });

let nats: NatsServer;
let pg: PostgresCluster;
let ctl: InProcessService;
let watch: SubjectWatch;
let nc: NatsConnection;
let appliers: WalrusProcess[] = [];

const applierEnv = () => ({ NATS_URL: nats.url, LOG_LEVEL: 'info' });
const startApplier = async (): Promise<WalrusProcess> => {
  const a = startWalrus(['applier'], applierEnv());
  appliers.push(a);
  await a.waitForLog((l) => l.msg.startsWith('applying the decisions of the registry'), 'the applier on the registry');
  return a;
};

/** Every ALTER SYSTEM statement the server has logged so far. */
const alters = async (): Promise<string[]> => (await pg.log()).split('\n').filter((l) => /statement: ALTER SYSTEM SET max_wal_size/.test(l));

const outcomesOf = (d: Decision) => watch.on('walrus.applied.app-a').filter((r) => r.decision_id === d.id);
const outcome = (d: Decision) => watch.next('walrus.applied.app-a', (r) => r.decision_id === d.id, `the outcome of ${d.old_size_mb} -> ${d.new_size_mb} MB`);

async function setSize(mb: number): Promise<void> {
  await pg.query(`ALTER SYSTEM SET max_wal_size = '${mb}MB'`);
  await pg.query('SELECT pg_reload_conf()');
  await waitFor(async () => (await maxWalSizeMb(pg)) === mb || null, { what: `max_wal_size ${mb} MB` });
}

beforeAll(async () => {
  [nats, pg] = await Promise.all([startNats(), startPostgres({ version: 17, config: { max_wal_size: '64MB', log_statement: 'ddl' } })]);
  nc = await connect({ servers: nats.url, name: 'fleet-appliers-test' });
  watch = await SubjectWatch.open(nats.url, ['walrus.applied.>']);
  ctl = await startInProcess(control, { WALRUS_PAGE: 'false' }, nats.url);
  let err = '';
  const o: Output = { out: () => undefined, err: (t) => void (err += t) };
  expect(await runControlCommand('clusters', ['add', 'app-a', pg.url], { NATS_URL: nats.url }, o), err).toBe(0);
  await Promise.all([startApplier(), startApplier()]);
}, 120_000);

afterAll(async () => {
  await Promise.all(appliers.map((a) => a.stop()));
  await ctl?.stop();
  await watch?.close();
  await nc?.close();
  await cleanupAll();
});

describe('fleet - appliers share the decisions', () => {
  it("applies one cluster's decisions in order and once each, whichever of two appliers is handed them", async () => {
    const before = (await alters()).length;
    const steps = [
      testDecision('app-a', { old_size_mb: 64, new_size_mb: 96 }),
      testDecision('app-a', { old_size_mb: 96, new_size_mb: 128 }),
      testDecision('app-a', { old_size_mb: 128, new_size_mb: 80, action: 'decrease' }),
      testDecision('app-a', { old_size_mb: 80, new_size_mb: 160 }),
    ];
    const js = jetstream(nc);
    // Published back to back: without the per-cluster order a later one would find the size it expects not there yet (stale).
    await Promise.all(steps.map((d) => js.publish('walrus.decision.app-a', JSON.stringify(d))));
    for (const d of steps) expect(await outcome(d)).toMatchObject({ status: 'applied', max_wal_size_mb: d.new_size_mb });
    await settled();
    expect(await maxWalSizeMb(pg)).toBe(160);
    expect((await alters()).length - before).toBe(steps.length);
    for (const d of steps) expect(outcomesOf(d)).toHaveLength(1);
  });

  it('kill -9 of the applier holding a decision: the other finishes it after the redelivery, and ALTER SYSTEM runs once', async () => {
    await setSize(64);
    const before = (await alters()).length;
    // The server away: whoever takes the decision keeps it in hand, retrying.
    await pg.stop();
    const d = testDecision('app-a', { old_size_mb: 64, new_size_mb: 192 });
    await jetstream(nc).publish('walrus.decision.app-a', JSON.stringify(d));
    const holder = await Promise.any(
      appliers.map((a) => a.waitForLog((l) => l.decisionId === d.id && l.msg.startsWith('cluster unreachable'), 'the applier holding the decision').then(() => a)),
    );
    holder.proc.kill('SIGKILL');
    await holder.exited;
    appliers = appliers.filter((a) => a !== holder);
    await pg.restart();
    // JetStream hands it to the other applier once the ack wait (30 s) has passed: it finds the intent and finishes the decision.
    expect(await outcome(d)).toMatchObject({ status: 'applied', max_wal_size_mb: 192 });
    expect(await maxWalSizeMb(pg)).toBe(192);
    const [survivor] = appliers;
    await defined(survivor).waitForLog((l) => l.decisionId === d.id && l.msg.startsWith('an applier stopped while applying'), 'the recovery of the intent');
    await settled();
    expect((await alters()).length - before).toBe(1);
    expect(outcomesOf(d)).toHaveLength(1);
  }, 150_000);

  it('an applier that stopped after ALTER SYSTEM, before its outcome: the next reads the value back and publishes the outcome without running it again', async () => {
    await Promise.all(appliers.map((a) => a.stop()));
    appliers = [];
    // What the killed applier left: the size in force, its intent recorded, no outcome.
    await setSize(256);
    const before = (await alters()).length;
    const d = testDecision('app-a', { old_size_mb: 192, new_size_mb: 256 });
    const ack = await jetstream(nc).publish('walrus.decision.app-a', JSON.stringify(d));
    const kv = await new Kvm(nc).open(KV_APPLIED_BUCKET);
    await kv.put('app-a', JSON.stringify({ v: 1, seq: ack.seq, decision_id: d.id, state: 'applying', by: 'a killed applier' }));
    await startApplier();
    expect(await outcome(d)).toMatchObject({ status: 'applied', max_wal_size_mb: 256 });
    await settled();
    expect((await alters()).length - before).toBe(0);
    expect(outcomesOf(d)).toHaveLength(1);
    expect(JSON.parse(defined(await kv.get('app-a')).string())).toMatchObject({ seq: ack.seq, state: 'done' });
  });
});

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { decisionMsgId, decisionSubject, type ApplyResult, type Decision } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxWalSizeMb, writeWal } from '../harness/load.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from '../harness/mod.js';
import { startWalrus, type LogLine, type WalrusProcess } from '../harness/walrus-process.js';
import { decisionFor } from './decisions.js';
import { storedMessages } from './stream.js';

// One PostgreSQL 17, one NATS and `walrus all` for the three outages; each
// test leaves everything running again for the next.
const CLUSTER = 'flt';
let nats: NatsServer;
let pgc: PostgresCluster;
let walrus: WalrusProcess;
let nc: NatsConnection;

beforeAll(async () => {
  [nats, pgc] = await Promise.all([
    startNats(),
    startPostgres({ version: 17, config: { max_wal_size: '32MB', checkpoint_timeout: '30s' } }),
  ]);
  await pgc.query('CREATE DATABASE history');
  walrus = startWalrus(['all'], {
    NATS_URL: nats.url,
    WALRUS_CLUSTERS: `${CLUSTER}=${pgc.url}`,
    HISTORY_DATABASE_URL: pgc.urlFor('history'),
    WALRUS_SAMPLE_INTERVAL: '1',
    WALRUS_APPLY_EXPIRY_SEC: '6',
    // A CHECKPOINT command or a shutdown checkpoint alone never makes a decision here.
    WALRUS_THRESHOLD: '3',
    WALRUS_COOLDOWN_SEC: '0',
  });
  await walrus.waitForLog((l) => l.msg === 'started', 'walrus all started', 60_000);
  await walrus.waitForLog((l) => l.cluster === CLUSTER && l.outcome === 'baseline', 'the first sample evaluated', 30_000);
  nc = await connect({ servers: nats.url, name: 'fault-outages', maxReconnectAttempts: -1, reconnectTimeWait: 250 });
});
afterAll(async () => {
  await walrus?.stop();
  await nc?.close();
  await cleanupAll();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The first log line after line `from` that matches. */
const logAfter = (from: number, match: (l: LogLine) => boolean, what: string, timeoutMs = 60_000) =>
  waitFor(() => walrus.lines.slice(from).find(match), { what, timeoutMs, intervalMs: 100 });
const decisions = () => storedMessages<Decision>(nc, 'WALRUS_DECISIONS', `walrus.decision.${CLUSTER}`);
const outcomes = () => storedMessages<ApplyResult>(nc, 'WALRUS_DECISIONS', `walrus.applied.${CLUSTER}`);
const historyRows = () =>
  pgc.query<{ decision_id: string; apply_status: string | null }>('SELECT decision_id, apply_status FROM walrus.history', [], { database: 'history' });

describe('faults - outages while everything runs', () => {
  it('pg_stat_reset_shared mid-run: re-baseline, no spurious resize', async () => {
    await pgc.query('CHECKPOINT');
    await sleep(1500);
    await pgc.query('CHECKPOINT');
    await sleep(2500); // sampled with the higher count
    const from = walrus.lines.length;
    await pgc.query("SELECT pg_stat_reset_shared('checkpointer')");
    await logAfter(from, (l) => l.cluster === CLUSTER && l.outcome === 'rebaseline', 'a re-baseline after the reset');
    await pgc.query('CHECKPOINT');
    await sleep(2500);
    expect(await decisions()).toEqual([]);
    expect(await maxWalSizeMb(pgc)).toBe(32);
  });

  it('NATS stopped and restarted: every service reconnects by itself and no decision is lost', async () => {
    const from = walrus.lines.length;
    await nats.stop();
    // Forced checkpoints happen while NATS is away; the next sample carries them.
    await writeWal(pgc, { rounds: 12 });
    await nats.restart();
    await logAfter(from, (l) => l.msg === 'NATS connection restored', 'the reconnection');
    const increase = await waitFor(async () => (await decisions()).find((d) => d.data.action === 'increase')?.data, {
      what: 'an increase decided after the outage',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    await waitFor(async () => (await outcomes()).find((o) => o.data.decision_id === increase.id && o.data.status === 'applied'), {
      what: 'the increase applied',
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    // Every decision in the stream reached the history, once.
    const ids = (await decisions()).map((d) => d.data.id).sort();
    await waitFor(async () => ((await historyRows()).length >= ids.length ? true : null), { what: 'every decision in history', timeoutMs: 30_000 });
    expect((await historyRows()).map((r) => r.decision_id).sort()).toEqual(ids);
    expect(walrus.proc.exitCode).toBeNull();
  });

  it('monitored PostgreSQL stopped for a while: reported down, pending decision fails at expiry, sampling resumes', async () => {
    const size = await maxWalSizeMb(pgc);
    const from = walrus.lines.length;
    await pgc.stop();
    await logAfter(from, (l) => l.cluster === CLUSTER && l.msg === 'cluster unreachable; retrying with backoff', 'the collector reporting the cluster down');
    // An executable decision arrives while the cluster is down: retried until it expires.
    const d = decisionFor(CLUSTER, 100_000, { old_size_mb: size, new_size_mb: size * 2 });
    await jetstream(nc).publish(decisionSubject(CLUSTER), JSON.stringify(d), { msgID: decisionMsgId(d.id) });
    const failed = await waitFor(async () => (await outcomes()).find((o) => o.data.decision_id === d.id)?.data, {
      what: 'the outcome of the decision made while the cluster is down',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    expect(failed).toMatchObject({ status: 'failed', max_wal_size_mb: null });
    expect(failed.error).toMatch(/expired/);
    expect(walrus.lines.slice(from).some((l) => l.decisionId === d.id && l.msg === 'cluster unreachable; will retry until the decision expires')).toBe(true);

    const back = walrus.lines.length;
    await pgc.restart();
    await logAfter(back, (l) => l.cluster === CLUSTER && l.msg === 'cluster reachable', 'sampling resuming by itself');
    await logAfter(back, (l) => l.cluster === CLUSTER && typeof l.outcome === 'string', 'a sample evaluated after the restart');
    expect(await maxWalSizeMb(pgc)).toBe(size);
    await waitFor(async () => (await historyRows()).find((r) => r.decision_id === d.id && r.apply_status === 'failed'), {
      what: 'the failed outcome in history once the database is back',
      timeoutMs: 60_000,
    });
    expect(walrus.proc.exitCode).toBeNull();
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { decisionMsgId, decisionSubject, type ApplyResult, type Decision, type Sample } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxWalSizeMb, requestCheckpoints, requestedCheckpoints, writeWal } from '../harness/load.js';
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
  // The requested-checkpoint counter at 8 or more before walrus starts, for the reset test below: pg_walrus's
  // rule counts requested checkpoints over the last checkpoint_timeout, so building it up while walrus runs
  // would grow max_wal_size (threshold 3) before the reset.
  await requestCheckpoints(pgc, 8);
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

/** The first log line after line `from` that matches. */
const logAfter = (from: number, match: (l: LogLine) => boolean, what: string, timeoutMs = 60_000) =>
  waitFor(() => walrus.lines.slice(from).find(match), { what, timeoutMs, intervalMs: 100 });
/** The latest sample of the cluster in the stream that matches (what the decider reads). */
const sampledWith = (match: (s: Sample) => boolean, what: string) =>
  waitFor(
    async () => {
      const m = await (await jetstreamManager(nc)).streams.getMessage('WALRUS_SAMPLES', { last_by_subj: `walrus.sample.${CLUSTER}` }).catch(() => null);
      const s = m?.json<Sample>();
      return s && match(s) ? s : null;
    },
    { what, timeoutMs: 30_000, intervalMs: 100 },
  );
const decisions = () => storedMessages<Decision>(nc, 'WALRUS_DECISIONS', `walrus.decision.${CLUSTER}`);
const outcomes = () => storedMessages<ApplyResult>(nc, 'WALRUS_DECISIONS', `walrus.applied.${CLUSTER}`);
const historyRows = () =>
  pgc.query<{ decision_id: string; apply_status: string | null }>('SELECT decision_id, apply_status FROM walrus.history', [], { database: 'history' });

describe('faults - outages while everything runs', () => {
  it('pg_stat_reset_shared mid-run: re-baseline, no spurious resize', async () => {
    const size = await maxWalSizeMb(pgc);
    const since = new Date().toISOString();
    // The counter, built up to 8 or more before walrus started, is the decider's baseline.
    const n = await requestedCheckpoints(pgc);
    expect(n).toBeGreaterThanOrEqual(8);
    await sampledWith((s) => s.checkpoints_requested === n, `a sample with ${n} requested checkpoints`);
    // Then the reset and four checkpoints, with the process stopped so that
    // its next sample sees them at once: requested drops from n (>= 8) to 4.
    // A decider that took the 4 after the reset as the interval's forced
    // checkpoints, or the size of the drop (>= 4), would grow here (threshold 3).
    const from = walrus.lines.length;
    const paused = new Date().toISOString();
    walrus.signal('SIGSTOP');
    try {
      await sleep(300); // a statistics query sent just before the stop completes on the server meanwhile
      await pgc.query("SELECT pg_stat_reset_shared('checkpointer')");
      await requestCheckpoints(pgc, 4);
    } finally {
      walrus.signal('SIGCONT');
    }
    const jump = await sampledWith((s) => s.collected_at > paused, 'the first sample after the reset');
    expect(jump.checkpoints_requested).toBe(4);
    // Samples from before the pause give no_change; the one after it must re-baseline (a decision is logged with its action).
    const evaluated = (l: LogLine) => l.cluster === CLUSTER && (typeof l.outcome === 'string' || typeof l.action === 'string');
    const rebaseline = await logAfter(from, (l) => evaluated(l) && l.outcome !== 'no_change', 'the evaluation of the sample after the reset');
    expect(rebaseline).toMatchObject({ outcome: 'rebaseline' });
    // Two more samples evaluated after it: a decision of the re-baselined sample would be in the stream before them.
    const after = walrus.lines.indexOf(rebaseline) + 1;
    await waitFor(() => walrus.lines.slice(after).filter(evaluated).length >= 2 || null, {
      what: 'two samples evaluated after the re-baseline',
      timeoutMs: 30_000,
    });
    expect((await decisions()).filter((d) => d.data.sample_at >= since)).toEqual([]);
    expect(await maxWalSizeMb(pgc)).toBe(size);
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

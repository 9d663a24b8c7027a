import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { applier } from '@walrus/applier';
import { readSample } from '@walrus/cluster';
import { control } from '@walrus/control';
import {
  apiSubject,
  KV_STATE_BUCKET,
  sampleMsgId,
  WALRUS_PARAM_NAMES,
  type AnalyzeResult,
  type ApiReply,
  type CleanupResult,
  type Endpoint,
  type HistoryResult,
  type InfoResult,
  type Recommendation,
  type ResetResult,
  type StatusResult,
} from '@walrus/core';
import { decider } from '@walrus/decider';
import { historian } from '@walrus/historian';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxWalSizeMb, requestCheckpoints, requestedCheckpoints } from './harness/load.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { publishJs, startInProcess, type InProcessService } from './harness/in-process.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

// The control surface against real servers: one PostgreSQL 17 whose
// checkpoints are requested with CHECKPOINT (counted as requested, exactly
// like WAL-forced ones), samples read from it and published by the test so
// that every interval is known, and the decider, applier, historian and
// control service running as they do in production.
//
// Each test stands alone (any one runs with -t, in any order): it takes a
// cluster id of its own (no state, no history, no decisions yet), resets the
// server's settings, and builds the history it needs itself. The ids all name
// the same server, so one test at a time changes its max_wal_size.
const POOL = Array.from({ length: 12 }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
const CLUSTERS = POOL.map((id) => `${id}=%URL%`).join(',');
let used = 0;
let nats: NatsServer;
let pgc: PostgresCluster;
let nc: NatsConnection;
let watch: SubjectWatch;
const svc: Record<string, InProcessService> = {};

beforeAll(async () => {
  [nats, pgc] = await Promise.all([startNats(), startPostgres({ version: 17, config: { max_wal_size: '32MB' } })]);
  await pgc.query('CREATE DATABASE history');
  const history = pgc.urlFor('history');
    watch = await SubjectWatch.open(nats.url, ['walrus.decision.>', 'walrus.applied.>']);
  svc.historian = await startInProcess(historian, { HISTORY_DATABASE_URL: history, ...POLICY }, nats.url);
  svc.decider = await startInProcess(decider, POLICY, nats.url);
  const clusters = CLUSTERS.replaceAll('%URL%', pgc.url);
  svc.applier = await startInProcess(applier, { WALRUS_CLUSTERS: clusters }, nats.url);
  svc.control = await startInProcess(control, controlEnv(clusters, history), nats.url);
  nc = await connect({ servers: nats.url, name: 'control-test' });
});

afterAll(async () => {
  await nc?.close();
  await watch?.close();
  for (const s of Object.values(svc).reverse()) await s.stop();
  await cleanupAll();
});

const POLICY = { WALRUS_COOLDOWN_SEC: '0', WALRUS_THRESHOLD: '2', WALRUS_MAX: '16GB' };
const controlEnv = (clusters: string, history: string) => ({ WALRUS_CLUSTERS: clusters, HISTORY_DATABASE_URL: history, WALRUS_PAGE: 'off', ...POLICY });

/** A cluster id no other test has used, on a server with its settings reset (max_wal_size back to 32 MB). */
async function freshCluster(): Promise<string> {
  const id = POOL[used++];
  if (!id) throw new Error('control.test.ts: add ids to POOL');
  await pgc.query('ALTER SYSTEM RESET ALL');
  await pgc.query('SELECT pg_reload_conf()');
  await waitFor(async () => (await maxWalSizeMb(pgc)) === 32, { what: 'max_wal_size back to 32 MB', timeoutMs: 10_000 });
  return id;
}

async function call<T>(endpoint: Endpoint, body: unknown = {}): Promise<ApiReply<T>> {
  const m = await nc.request(apiSubject(endpoint), JSON.stringify(body), { timeout: 30_000 });
  return m.json<ApiReply<T>>();
}
async function ok<T>(endpoint: Endpoint, body: unknown = {}): Promise<T> {
  const r = await call<T>(endpoint, body);
  if (!r.ok) throw new Error(`${endpoint} failed: ${r.error.code} ${r.error.message}`);
  return r.result;
}

/** Reads the statistics as the collector does, and publishes them as cluster C's. */
async function publishSample(C: string): Promise<string> {
  const client = await pgc.connect();
  try {
    const s = await readSample(client, C, WALRUS_PARAM_NAMES, () => new Date());
    await publishJs(nc, `walrus.sample.${C}`, s, sampleMsgId(C, s.collected_at));
    return s.collected_at;
  } finally {
    await client.end();
  }
}
const checkpoints = (n: number): Promise<void> => requestCheckpoints(pgc, n);
const decisionFor = (C: string, sampleAt: string, what: string) =>
  watch.next(`walrus.decision.${C}`, (d) => d.sample_at === sampleAt, what);
const outcomeOf = (C: string, decisionId: unknown) =>
  watch.next(`walrus.applied.${C}`, (r) => r.decision_id === decisionId, 'its outcome');
const metric = async (s: InProcessService, re: RegExp) => Number(re.exec(await s.registry.metrics())?.[1] ?? NaN);
const MB = 1024 * 1024;

/** A baseline, then 2 and 3 requested checkpoints: max_wal_size grows 32 -> 96 -> 384 MB. Returns the two decisions. */
async function grownTwice(C: string): Promise<Record<string, unknown>[]> {
  await publishSample(C); // baseline
  await checkpoints(2);
  const d1 = await decisionFor(C, await publishSample(C), 'the first increase');
  expect(d1).toMatchObject({ action: 'increase', old_size_mb: 32, new_size_mb: 96, forced_checkpoints: 2 });
  expect(await outcomeOf(C, d1.id)).toMatchObject({ status: 'applied', max_wal_size_mb: 96 });
  await checkpoints(3);
  const d2 = await decisionFor(C, await publishSample(C), 'the second increase');
  expect(d2).toMatchObject({ action: 'increase', old_size_mb: 96, new_size_mb: 384, forced_checkpoints: 3 });
  expect(await outcomeOf(C, d2.id)).toMatchObject({ status: 'applied', max_wal_size_mb: 384 });
  return [d1, d2];
}

/** Decisions JetStream holds for the cluster. */
async function storedDecisionCount(C: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const subject = `walrus.decision.${C}`;
  return (await jsm.streams.info('WALRUS_DECISIONS', { subjects_filter: subject })).state.subjects?.[subject] ?? 0;
}

/** The cluster's own override: a cooldown of an hour (read at each sample), and an invalid threshold. */
async function hourLongCooldown(): Promise<void> {
  await pgc.query("ALTER SYSTEM SET walrus.cooldown_sec = '3600'");
  await pgc.query("ALTER SYSTEM SET walrus.threshold = 'lots'");
  await pgc.query('SELECT pg_reload_conf()');
}

/**
 * A fresh cluster grown twice, then two more checkpoints under the hour-long
 * cooldown (no sample of them published yet): the state bucket and the
 * cluster's state revision before anything is asked.
 */
async function increaseInCooldown(): Promise<{ C: string; kv: KV; before: number }> {
  const C = await freshCluster();
  await grownTwice(C);
  await hourLongCooldown();
  await checkpoints(2);
  const kv = await new Kvm(nc).open(KV_STATE_BUCKET);
  return { C, kv, before: defined(await kv.get(C)).revision };
}

/** After grownTwice: two more checkpoints under the hour-long cooldown give a skipped increase. Returns its sample time. */
async function heldBack(C: string): Promise<string> {
  await hourLongCooldown();
  await checkpoints(2);
  const at = await publishSample(C);
  const skipped = await decisionFor(C, at, 'a skipped increase');
  expect(skipped).toMatchObject({ action: 'skipped', metadata: expect.objectContaining({ blocked_by: 'cooldown' }) });
  return at;
}

describe('control - endpoints over NATS request/reply', () => {
  it('lists its endpoints on walrus.api.info', async () => {
    const info = await ok<InfoResult>('info');
    expect(info.endpoints.map((e) => e.subject)).toEqual([
      'walrus.api.info',
      'walrus.api.status',
      'walrus.api.history',
      'walrus.api.recommendation',
      'walrus.api.analyze',
      'walrus.api.reset',
      'walrus.api.cleanup_history',
      'walrus.api.clusters_add',
      'walrus.api.clusters_remove',
      'walrus.api.clusters_list',
      'walrus.api.clusters_show',
    ]);
    expect(info).toMatchObject({ history: true, live_clusters: POOL });
  });

  it('two increases: the server grows twice and the metrics count exactly what happened', async () => {
    const C = await freshCluster();
    await grownTwice(C);
    expect(await maxWalSizeMb(pgc)).toBe(384);

    const dec = defined(svc.decider);
    const m = (name: string, labels = '') => new RegExp(`${name}\\{cluster="${C}",${labels}service="decider"\\} ([\\d.e+-]+)`);
    expect(await metric(dec, m('walrus_decisions_total', 'action="increase",'))).toBe(2);
    expect(await metric(dec, m('walrus_forced_checkpoints_total'))).toBe(5);
    // The gauge shows the size in the latest sample, taken before the second resize.
    expect(await metric(dec, m('walrus_max_wal_size_bytes'))).toBe(96 * MB);
    expect(await metric(dec, m('walrus_max_allowed_bytes'))).toBe(16 * 1024 * MB);
    const age = await metric(dec, m('walrus_sample_age_seconds'));
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(120);
    await waitFor(async () => (await metric(defined(svc.applier), new RegExp(`walrus_apply_total\\{cluster="${C}",status="applied",service="applier"\\} (\\d+)`))) === 2, {
      what: 'walrus_apply_total{status="applied"} = 2',
      timeoutMs: 10_000,
    });
    // Consumer lag, read from JetStream by the control service: nothing left for the decider.
    await waitFor(async () => (await metric(defined(svc.control), /walrus_jetstream_consumer_pending_messages\{stream="WALRUS_SAMPLES",consumer="walrus-decider",service="control"\} (\d+)/)) === 0, {
      what: 'decider lag 0',
      timeoutMs: 10_000,
    });
  });

  it('status: per-cluster fields of pg_walrus plus reachability, and the fleet summary', async () => {
    const C = await freshCluster();
    await grownTwice(C);
    const s3 = await heldBack(C);

    const r = await ok<StatusResult>('status', { cluster: C });
    expect(r.clusters).toHaveLength(1);
    expect(r.clusters[0]).toMatchObject({
      cluster: C,
      enabled: true,
      current_max_wal_size_mb: 384,
      configured_maximum_mb: 16384,
      min_size_mb: 1024,
      threshold: 2,
      checkpoint_timeout_sec: 300,
      shrink_enabled: true,
      shrink_factor: 0.75,
      shrink_intervals: 5,
      total_adjustments: 2,
      quiet_intervals: 0,
      at_ceiling: false,
      cooldown_sec: 3600,
      cooldown_active: true,
      changes_this_hour: 2,
      max_changes_per_hour: 4,
      hourly_limit_reached: false,
      reachable: true,
      reachable_by: 'live',
      has_state: true,
      last_evaluated_at: new Date(s3).toISOString(),
    });
    expect(defined(r.clusters[0]).cooldown_remaining_sec).toBeGreaterThan(3500);
    expect(defined(r.clusters[0]).invalid_overrides).toEqual([expect.objectContaining({ parameter: 'walrus.threshold', value: 'lots' })]);

    // The fleet: every cluster the service knows (its WALRUS_CLUSTERS, whatever has state or samples),
    // this one as above (reachability judged by sample age there), and a summary that adds them up.
    const fleet = await ok<StatusResult>('status');
    expect(fleet.clusters.map((c) => c.cluster)).toEqual(POOL);
    // The single-cluster answer read the server live; the fleet uses the last sample.
    // What the WAL disk holds is the sample's too: the live read has it, the published samples here do not.
    const {
      reachable: _r,
      reachable_by: _b,
      cooldown_remaining_sec: _c,
      sample_age_sec: _a,
      last_sample_at: _l,
      pg_wal_bytes: _w,
      max_slot_wal_keep_size_mb: _k,
      archiver_backlog_segments: _s,
      archiver_backlog_bytes: _y,
      ...same
    } = defined(r.clusters[0]);
    expect(fleet.clusters.find((c) => c.cluster === C)).toMatchObject({ ...same, reachable: true, reachable_by: 'sample_age' });
    const count = (f: (c: (typeof fleet.clusters)[number]) => boolean) => fleet.clusters.filter(f).length;
    expect(fleet.fleet).toMatchObject({
      clusters: fleet.clusters.length,
      reachable: count((c) => c.reachable === true),
      cooldown_active: count((c) => c.cooldown_active),
      with_invalid_overrides: count((c) => c.invalid_overrides.length > 0),
      total_adjustments: fleet.clusters.reduce((n, c) => n + c.total_adjustments, 0),
    });
    expect(fleet.fleet.with_invalid_overrides).toBeGreaterThanOrEqual(1);
  });

  it('recommendation: what would happen, with the rate limit that holds it back, and nothing changes', async () => {
    const { C, kv, before } = await increaseInCooldown();
    const rec = await ok<Recommendation>('recommendation', { cluster: C });
    expect(rec).toMatchObject({
      cluster: C,
      current_size_mb: 384,
      recommended_size_mb: 1152,
      action: 'increase',
      forced_checkpoints: 2,
      blocked_by: 'cooldown',
      sample_source: 'live',
    });
    // pg_walrus's score: 50, +15 for a baseline, +20 past 10 requested checkpoints; no quiet interval.
    expect(rec.confidence).toBe(65 + ((await requestedCheckpoints(pgc)) > 10 ? 20 : 0));
    expect(defined(await kv.get(C)).revision).toBe(before);
    expect(await maxWalSizeMb(pgc)).toBe(384);
  });

  it('analyze without apply: the same evaluation, and nothing is saved, published or changed', async () => {
    const { C, kv, before } = await increaseInCooldown();
    const decisionsBefore = await storedDecisionCount(C);
    const r = await ok<AnalyzeResult>('analyze', { cluster: C });
    expect(r).toMatchObject({ analyzed: true, applied: false, decision_id: null, apply_status: null });
    expect(r.recommendation).toMatchObject({ action: 'increase', recommended_size_mb: 1152, forced_checkpoints: 2, blocked_by: 'cooldown' });
    // A decision would have been stored (acknowledged by JetStream) before the answer.
    expect(await storedDecisionCount(C)).toBe(decisionsBefore);
    expect(defined(await kv.get(C)).revision).toBe(before);
    expect(await maxWalSizeMb(pgc)).toBe(384);
    expect(await metric(defined(svc.control), new RegExp(`walrus_manual_decisions_total\\{cluster="${C}"`))).toBeNaN();
  });

  it('analyze with apply changes the server and writes history while rate-limited', async () => {
    const C = await freshCluster();
    await grownTwice(C);
    // The deciders carry analyze --apply out with the settings of the cluster's last sample: one under the cooldown.
    await heldBack(C);
    await checkpoints(2);
    // pg_walrus's rule counts requested checkpoints over the last checkpoint_timeout (300 s) since the last
    // change: the 2 held back by the cooldown and these 2, so 384 MB x 5.
    const r = await ok<AnalyzeResult>('analyze', { cluster: C, apply: true });
    expect(r).toMatchObject({ analyzed: true, applied: true, apply_status: 'applied', max_wal_size_mb: 1920 });
    expect(r.recommendation).toMatchObject({ action: 'increase', blocked_by: 'cooldown' });
    expect(await maxWalSizeMb(pgc)).toBe(1920);

    const row = await waitFor(
      async () =>
        (await pgc.query<{ action: string; apply_status: string; metadata: Record<string, unknown> }>(
          'SELECT action, apply_status, metadata FROM walrus.history WHERE decision_id = $1',
          [r.decision_id],
          { database: 'history' },
        ))[0],
      { what: 'the manual decision in history', timeoutMs: 20_000, intervalMs: 200 },
    );
    await waitFor(async () => (await pgc.query<{ s: string }>('SELECT apply_status AS s FROM walrus.history WHERE decision_id = $1', [r.decision_id], { database: 'history' }))[0]?.s === 'applied', {
      what: 'its outcome in history',
      timeoutMs: 20_000,
    });
    expect(row).toMatchObject({ action: 'increase', metadata: expect.objectContaining({ rate_limits_bypassed: true }) });
    expect(await metric(defined(svc.control), new RegExp(`walrus_manual_decisions_total\\{cluster="${C}",action="increase",service="control"\\} (\\d+)`))).toBe(1);

    // The manual change counts like the decider's own: a third adjustment, baseline moved on.
    const st = defined((await ok<StatusResult>('status', { cluster: C })).clusters[0]);
    expect(st).toMatchObject({ total_adjustments: 3, changes_this_hour: 3, current_max_wal_size_mb: 1920 });
    // Without new forced checkpoints there is nothing more to apply.
    const again = await ok<AnalyzeResult>('analyze', { cluster: C, apply: true });
    expect(again).toMatchObject({ applied: false, decision_id: null });
    expect(again.recommendation.action).toBe('none');
  });

  it('history: newest first, per cluster or fleet, with a limit; walrus.status in SQL is current', async () => {
    const C = await freshCluster();
    await grownTwice(C);
    await heldBack(C);
    await checkpoints(2);
    const manual = await ok<AnalyzeResult>('analyze', { cluster: C, apply: true });
    expect(manual).toMatchObject({ applied: true, max_wal_size_mb: 1920 });
    await waitFor(async () => (await ok<HistoryResult>('history', { cluster: C, limit: 1 })).rows[0]?.apply_status === 'applied', {
      what: 'the manual change and its outcome in history',
      timeoutMs: 20_000,
    });

    const h = await ok<HistoryResult>('history', { cluster: C, limit: 2 });
    expect(h.rows).toHaveLength(2);
    expect(h.rows[0]).toMatchObject({ action: 'increase', new_size_mb: 1920, apply_status: 'applied' });
    expect(h.rows[1]).toMatchObject({ action: 'skipped' });
    const mine = await ok<HistoryResult>('history', { cluster: C, limit: 100 });
    expect(mine.rows.map((x) => x.action)).toEqual(['increase', 'skipped', 'increase', 'increase']);
    // The fleet's history holds the same rows for this cluster, in the same order.
    const all = await ok<HistoryResult>('history', { limit: 1000 });
    expect(all.rows.filter((x) => x.cluster === C)).toEqual(mine.rows);

    const [s] = await pgc.query('SELECT * FROM walrus.status WHERE cluster = $1', [C], { database: 'history' });
    expect(s).toMatchObject({
      cluster: C,
      max_wal_size_mb: 1920,
      last_action: 'increase',
      last_apply_status: 'applied',
      last_applied_size_mb: 1920,
      decisions: '4',
      adjustments_applied: '3',
    });
  });

  it('cleanup_history deletes by retention and walrus.status keeps the cluster', async () => {
    const C = await freshCluster();
    await grownTwice(C);
    await waitFor(async () => (await ok<HistoryResult>('history', { cluster: C, limit: 10 })).rows.filter((x) => x.apply_status === 'applied').length === 2, {
      what: 'both increases and their outcomes in history',
      timeoutMs: 20_000,
    });
    const count = async () => Number(defined((await pgc.query<{ n: string }>('SELECT count(*) AS n FROM walrus.history', [], { database: 'history' }))[0]).n);
    const rows = await count();
    expect(rows).toBeGreaterThanOrEqual(2);
    const kept = await ok<CleanupResult>('cleanup_history', { retention_days: 30 });
    expect(kept.deleted).toBe(0);
    expect(await count()).toBe(rows);
    const gone = await ok<CleanupResult>('cleanup_history', { retention_days: 0 });
    expect(gone.deleted).toBe(rows);
    expect((await ok<HistoryResult>('history', { limit: 10 })).rows).toEqual([]);
    const status = await pgc.query('SELECT cluster, max_wal_size_mb FROM walrus.status WHERE cluster = $1', [C], { database: 'history' });
    expect(status).toEqual([{ cluster: C, max_wal_size_mb: 384 }]);
  });

  it('reset clears the state: the next sample is a new baseline', async () => {
    const C = await freshCluster();
    await grownTwice(C);
    const r = await ok<ResetResult>('reset', { cluster: C });
    expect(r).toEqual({ cluster: C, had_state: true });
    const st = defined((await ok<StatusResult>('status', { cluster: C })).clusters[0]);
    expect(st).toMatchObject({ has_state: false, total_adjustments: 0, cooldown_active: false, last_evaluated_at: null });
    await checkpoints(3);
    const s = await publishSample(C);
    // A baseline: no decision, though three checkpoints were requested.
    await waitFor(async () => defined((await ok<StatusResult>('status', { cluster: C })).clusters[0]).last_evaluated_at === new Date(s).toISOString(), {
      what: 'the decider to take a new baseline',
      timeoutMs: 20_000,
    });
    expect((await ok<StatusResult>('status', { cluster: C })).clusters[0]).toMatchObject({ has_state: true, total_adjustments: 0, quiet_intervals: 0 });
    expect(await storedDecisionCount(C)).toBe(2);
    expect(await ok<ResetResult>('reset', { cluster: C })).toEqual({ cluster: C, had_state: true });
  });

  it('consumer lag: what each durable consumer has not received, read from JetStream', async () => {
    const C = await freshCluster();
    await grownTwice(C);
    // A consumer nobody reads lags by every decision of the cluster stored so far.
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add('WALRUS_DECISIONS', { durable_name: 'test-lagging', ack_policy: AckPolicy.Explicit, filter_subject: `walrus.decision.${C}` });
    try {
      const decisions = await storedDecisionCount(C);
      expect(decisions).toBe(2);
      const lag = (name: string) => metric(defined(svc.control), new RegExp(`walrus_jetstream_consumer_${name}\\{stream="WALRUS_DECISIONS",consumer="test-lagging",service="control"\\} (\\d+)`));
      expect(await lag('pending_messages')).toBe(decisions);
      expect(await lag('ack_pending_messages')).toBe(0);
      await waitFor(
        async () => (await metric(defined(svc.control), /walrus_jetstream_consumer_pending_messages\{stream="WALRUS_DECISIONS",consumer="walrus-historian",service="control"\} (\d+)/)) === 0,
        { what: 'the historian caught up (lag 0)', timeoutMs: 20_000 },
      );
    } finally {
      await jsm.consumers.delete('WALRUS_DECISIONS', 'test-lagging');
    }
  });

  it('errors: unknown cluster, bad requests, not JSON', async () => {
    const C = await freshCluster();
    const notFound = () => metric(defined(svc.control), /walrus_control_requests_total\{endpoint="recommendation",result="not_found",service="control"\} (\d+)/);
    const before = (await notFound()) || 0;
    for (const endpoint of ['status', 'recommendation', 'analyze', 'reset'] as const) {
      const r = await call(endpoint, { cluster: 'nope' });
      expect(r, endpoint).toMatchObject({ ok: false, error: { code: 'not_found', message: expect.stringContaining('unknown cluster nope') } });
    }
    expect(await call('history', { cluster: 'nope' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await call('recommendation', {})).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('cluster') } });
    expect(await call('status', { cluster: 'a.b' })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await call('history', { limit: 0 })).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('limit') } });
    expect(await call('analyze', { cluster: C, apply: 'yes' })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    const raw = await nc.request(apiSubject('status'), 'not json', { timeout: 5000 });
    expect(raw.json()).toMatchObject({ ok: false, error: { code: 'bad_request', message: 'the request is not JSON' } });
    expect(await notFound()).toBe(before + 1);
  });

  it('several control processes answer in one queue group: each request once, by either, each answer right', async () => {
    const C = await freshCluster();
    await grownTwice(C);
    const second = await startInProcess(control, controlEnv(CLUSTERS.replaceAll('%URL%', pgc.url), pgc.urlFor('history')), nats.url);
    try {
      const answered = (s: InProcessService) => metric(s, /walrus_control_requests_total\{endpoint="status",result="ok",service="control"\} (\d+)/).then((n) => n || 0);
      const before = [await answered(defined(svc.control)), await answered(second)];
      const N = 24;
      const answers = await Promise.all(Array.from({ length: N }, () => ok<StatusResult>('status', { cluster: C })));
      for (const a of answers) {
        expect(a.clusters).toHaveLength(1);
        expect(a.clusters[0]).toMatchObject({ cluster: C, current_max_wal_size_mb: 384, total_adjustments: 2, changes_this_hour: 2, reachable: true, has_state: true });
      }
      const by = [(await answered(defined(svc.control))) - defined(before[0]), (await answered(second)) - defined(before[1])];
      // Both took a share, and no request was answered twice (outside a queue group both would answer each).
      expect(by[0]).toBeGreaterThan(0);
      expect(by[1]).toBeGreaterThan(0);
      expect(defined(by[0]) + defined(by[1])).toBe(N);
    } finally {
      await second.stop();
    }
  });
});

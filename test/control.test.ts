import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
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
import { maxWalSizeMb, requestedCheckpoints } from './harness/load.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { publishJs, startInProcess, type InProcessService } from './harness/in-process.js';
import { SubjectWatch } from './harness/watch.js';

// The control surface against real servers: one PostgreSQL 17 whose
// checkpoints are requested with CHECKPOINT (counted as requested, exactly
// like WAL-forced ones), samples read from it and published by the test so
// that every interval is known, and the decider, applier, historian and
// control service running as they do in production.
const C = 'main';
let nats: NatsServer;
let pgc: PostgresCluster;
let nc: NatsConnection;
let watch: SubjectWatch;
const svc: Record<string, InProcessService> = {};

beforeAll(async () => {
  [nats, pgc] = await Promise.all([startNats(), startPostgres({ version: 17, config: { max_wal_size: '32MB' } })]);
  await pgc.query('CREATE DATABASE history');
  const history = pgc.urlFor('history');
  const policy = { WALRUS_COOLDOWN_SEC: '0', WALRUS_THRESHOLD: '2', WALRUS_MAX: '16GB' };
  watch = await SubjectWatch.open(nats.url, ['walrus.decision.>', 'walrus.applied.>']);
  svc.historian = await startInProcess(historian, { HISTORY_DATABASE_URL: history, ...policy }, nats.url);
  svc.decider = await startInProcess(decider, policy, nats.url);
  svc.applier = await startInProcess(applier, { WALRUS_CLUSTERS: `${C}=${pgc.url}` }, nats.url);
  svc.control = await startInProcess(
    control,
    { WALRUS_CLUSTERS: `${C}=${pgc.url}`, HISTORY_DATABASE_URL: history, WALRUS_PAGE: 'off', ...policy },
    nats.url,
  );
  nc = await connect({ servers: nats.url, name: 'control-test' });
});

afterAll(async () => {
  await nc?.close();
  await watch?.close();
  for (const s of Object.values(svc).reverse()) await s.stop();
  await cleanupAll();
});

async function call<T>(endpoint: Endpoint, body: unknown = {}): Promise<ApiReply<T>> {
  const m = await nc.request(apiSubject(endpoint), JSON.stringify(body), { timeout: 30_000 });
  return m.json<ApiReply<T>>();
}
async function ok<T>(endpoint: Endpoint, body: unknown = {}): Promise<T> {
  const r = await call<T>(endpoint, body);
  if (!r.ok) throw new Error(`${endpoint} failed: ${r.error.code} ${r.error.message}`);
  return r.result;
}

/** Reads the statistics as the collector does, and publishes them. */
async function publishSample(): Promise<string> {
  const client = await pgc.connect();
  try {
    const s = await readSample(client, C, WALRUS_PARAM_NAMES, () => new Date());
    await publishJs(nc, `walrus.sample.${C}`, s, sampleMsgId(C, s.collected_at));
    return s.collected_at;
  } finally {
    await client.end();
  }
}
async function checkpoints(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await pgc.query('CHECKPOINT');
}
const decisionFor = (sampleAt: string, what: string) =>
  watch.next(`walrus.decision.${C}`, (d) => d.sample_at === sampleAt, what);
const outcomeOf = (decisionId: unknown) =>
  watch.next(`walrus.applied.${C}`, (r) => r.decision_id === decisionId, 'its outcome');
const metric = async (s: InProcessService, re: RegExp) => Number(re.exec(await s.registry.metrics())?.[1] ?? NaN);
const MB = 1024 * 1024;

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
    ]);
    expect(info).toMatchObject({ history: true, live_clusters: [C] });
  });

  it('two increases: the server grows twice and the metrics count exactly what happened', async () => {
    await publishSample(); // baseline
    await checkpoints(2);
    const s1 = await publishSample();
    const d1 = await decisionFor(s1, 'the first increase');
    expect(d1).toMatchObject({ action: 'increase', old_size_mb: 32, new_size_mb: 96, forced_checkpoints: 2 });
    expect(await outcomeOf(d1.id)).toMatchObject({ status: 'applied', max_wal_size_mb: 96 });
    await checkpoints(3);
    const s2 = await publishSample();
    const d2 = await decisionFor(s2, 'the second increase');
    expect(d2).toMatchObject({ action: 'increase', old_size_mb: 96, new_size_mb: 384, forced_checkpoints: 3 });
    expect(await outcomeOf(d2.id)).toMatchObject({ status: 'applied', max_wal_size_mb: 384 });
    expect(await maxWalSizeMb(pgc)).toBe(384);

    const dec = svc.decider!;
    expect(await metric(dec, /walrus_decisions_total\{cluster="main",action="increase",service="decider"\} (\d+)/)).toBe(2);
    expect(await metric(dec, /walrus_forced_checkpoints_total\{cluster="main",service="decider"\} (\d+)/)).toBe(5);
    // The gauge shows the size in the latest sample, taken before the second resize.
    expect(await metric(dec, /walrus_max_wal_size_bytes\{cluster="main",service="decider"\} (\d+)/)).toBe(96 * MB);
    expect(await metric(dec, /walrus_max_allowed_bytes\{cluster="main",service="decider"\} (\d+)/)).toBe(16 * 1024 * MB);
    const age = await metric(dec, /walrus_sample_age_seconds\{cluster="main",service="decider"\} ([\d.e+-]+)/);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(120);
    await waitFor(async () => (await metric(svc.applier!, /walrus_apply_total\{cluster="main",status="applied",service="applier"\} (\d+)/)) === 2, {
      what: 'walrus_apply_total{status="applied"} = 2',
      timeoutMs: 10_000,
    });
    // Consumer lag, read from JetStream by the control service: nothing left for the decider.
    await waitFor(async () => (await metric(svc.control!, /walrus_jetstream_consumer_pending_messages\{stream="WALRUS_SAMPLES",consumer="walrus-decider",service="control"\} (\d+)/)) === 0, {
      what: 'decider lag 0',
      timeoutMs: 10_000,
    });
  });

  it('status: per-cluster fields of pg_walrus plus reachability, and the fleet summary', async () => {
    // From now on the cluster has a cooldown of an hour: its own override, read at each sample.
    await pgc.query("ALTER SYSTEM SET walrus.cooldown_sec = '3600'");
    await pgc.query("ALTER SYSTEM SET walrus.threshold = 'lots'");
    await pgc.query('SELECT pg_reload_conf()');
    await checkpoints(2);
    const s3 = await publishSample();
    const skipped = await decisionFor(s3, 'a skipped increase');
    expect(skipped).toMatchObject({ action: 'skipped', metadata: expect.objectContaining({ blocked_by: 'cooldown' }) });

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
    expect(r.clusters[0]!.cooldown_remaining_sec).toBeGreaterThan(3500);
    expect(r.clusters[0]!.invalid_overrides).toEqual([expect.objectContaining({ parameter: 'walrus.threshold', value: 'lots' })]);

    const fleet = await ok<StatusResult>('status');
    expect(fleet.clusters.map((c) => c.cluster)).toEqual([C]);
    expect(fleet.fleet).toMatchObject({ clusters: 1, reachable: 1, cooldown_active: 1, with_invalid_overrides: 1, total_adjustments: 2 });
  });

  it('recommendation: what would happen, with the rate limit that holds it back, and nothing changes', async () => {
    await checkpoints(2);
    const kv = await new Kvm(nc).open(KV_STATE_BUCKET);
    const before = (await kv.get(C))!.revision;
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
    expect((await kv.get(C))!.revision).toBe(before);
    expect(await maxWalSizeMb(pgc)).toBe(384);
  });

  it('analyze with apply changes the server and writes history while rate-limited', async () => {
    const r = await ok<AnalyzeResult>('analyze', { cluster: C, apply: true });
    expect(r).toMatchObject({ analyzed: true, applied: true, apply_status: 'applied', max_wal_size_mb: 1152 });
    expect(r.recommendation).toMatchObject({ action: 'increase', blocked_by: 'cooldown' });
    expect(await maxWalSizeMb(pgc)).toBe(1152);

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
    expect(await metric(svc.control!, /walrus_manual_decisions_total\{cluster="main",action="increase",service="control"\} (\d+)/)).toBe(1);

    // The manual change counts like the decider's own: a third adjustment, baseline moved on.
    const st = (await ok<StatusResult>('status', { cluster: C })).clusters[0]!;
    expect(st).toMatchObject({ total_adjustments: 3, changes_this_hour: 3, current_max_wal_size_mb: 1152 });
    // Without new forced checkpoints there is nothing more to apply.
    const again = await ok<AnalyzeResult>('analyze', { cluster: C, apply: true });
    expect(again).toMatchObject({ applied: false, decision_id: null });
    expect(again.recommendation.action).toBe('none');
  });

  it('history: newest first, per cluster or fleet, with a limit; walrus.status in SQL is current', async () => {
    const h = await ok<HistoryResult>('history', { cluster: C, limit: 2 });
    expect(h.rows).toHaveLength(2);
    expect(h.rows[0]).toMatchObject({ action: 'increase', new_size_mb: 1152, apply_status: 'applied' });
    expect(h.rows[1]).toMatchObject({ action: 'skipped' });
    const all = await ok<HistoryResult>('history', { limit: 100 });
    expect(all.rows.map((x) => x.action)).toEqual(['increase', 'skipped', 'increase', 'increase']);

    const [s] = await pgc.query('SELECT * FROM walrus.status', [], { database: 'history' });
    expect(s).toMatchObject({
      cluster: C,
      max_wal_size_mb: 1152,
      last_action: 'increase',
      last_apply_status: 'applied',
      last_applied_size_mb: 1152,
      decisions: '4',
      adjustments_applied: '3',
    });
  });

  it('cleanup_history deletes by retention and walrus.status keeps the cluster', async () => {
    const kept = await ok<CleanupResult>('cleanup_history', { retention_days: 30 });
    expect(kept.deleted).toBe(0);
    const gone = await ok<CleanupResult>('cleanup_history', { retention_days: 0 });
    expect(gone.deleted).toBe(4);
    expect((await ok<HistoryResult>('history', { limit: 10 })).rows).toEqual([]);
    const rows = await pgc.query('SELECT cluster, max_wal_size_mb FROM walrus.status', [], { database: 'history' });
    expect(rows).toEqual([{ cluster: C, max_wal_size_mb: 1152 }]);
  });

  it('reset clears the state: the next sample is a new baseline', async () => {
    const r = await ok<ResetResult>('reset', { cluster: C });
    expect(r).toEqual({ cluster: C, had_state: true });
    const st = (await ok<StatusResult>('status', { cluster: C })).clusters[0]!;
    expect(st).toMatchObject({ has_state: false, total_adjustments: 0, cooldown_active: false, last_evaluated_at: null });
    await checkpoints(3);
    const s = await publishSample();
    // A baseline: no decision, though three checkpoints were requested.
    await waitFor(async () => (await ok<StatusResult>('status', { cluster: C })).clusters[0]!.last_evaluated_at === new Date(s).toISOString(), {
      what: 'the decider to take a new baseline',
      timeoutMs: 20_000,
    });
    expect((await ok<StatusResult>('status', { cluster: C })).clusters[0]).toMatchObject({ has_state: true, total_adjustments: 0, quiet_intervals: 0 });
    expect(await ok<ResetResult>('reset', { cluster: C })).toEqual({ cluster: C, had_state: true });
  });

  it('consumer lag: what each durable consumer has not received, read from JetStream', async () => {
    // A consumer nobody reads lags by every decision of the cluster stored so far.
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add('WALRUS_DECISIONS', { durable_name: 'test-lagging', ack_policy: AckPolicy.Explicit, filter_subject: `walrus.decision.${C}` });
    const decisions = (await jsm.streams.info('WALRUS_DECISIONS', { subjects_filter: `walrus.decision.${C}` })).state.subjects?.[`walrus.decision.${C}`];
    expect(decisions).toBe(watch.on(`walrus.decision.${C}`).length);
    const lag = (name: string) => metric(svc.control!, new RegExp(`walrus_jetstream_consumer_${name}\\{stream="WALRUS_DECISIONS",consumer="test-lagging",service="control"\\} (\\d+)`));
    expect(await lag('pending_messages')).toBe(decisions);
    expect(await lag('ack_pending_messages')).toBe(0);
    expect(await metric(svc.control!, /walrus_jetstream_consumer_pending_messages\{stream="WALRUS_DECISIONS",consumer="walrus-historian",service="control"\} (\d+)/)).toBe(0);
    await jsm.consumers.delete('WALRUS_DECISIONS', 'test-lagging');
  });

  it('errors: unknown cluster, bad requests, not JSON', async () => {
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
    expect(await metric(svc.control!, /walrus_control_requests_total\{endpoint="recommendation",result="not_found",service="control"\} (\d+)/)).toBe(1);
  });
});

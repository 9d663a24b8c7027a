import { connect, type NatsConnection } from '@nats-io/transport-node';
import { applier } from '@walrus/applier';
import { readSample } from '@walrus/cluster';
import { control } from '@walrus/control';
import {
  apiSubject,
  deciderSubject,
  sampleMsgId,
  WALRUS_PARAM_NAMES,
  type AnalyzeResult,
  type ApiReply,
  type DeciderAnalyzeResult,
  type Sample,
  type StatusResult,
} from '@walrus/core';
import { decider } from '@walrus/decider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxWalSizeMb, requestCheckpoints } from './harness/load.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { publishJs, startInProcess, type InProcessService } from './harness/in-process.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

// analyze --apply and reset are served by the deciders (walrus.decider.*,
// queue group walrus-decider): two deciders here, a control service that
// reads the cluster live, an applier, one real PostgreSQL 17.
const C = 'reqs';
let nats: NatsServer;
let pgc: PostgresCluster;
let nc: NatsConnection;
let watch: SubjectWatch;
const deciders: InProcessService[] = [];
const svc: Record<string, InProcessService> = {};

beforeAll(async () => {
  [nats, pgc] = await Promise.all([startNats(), startPostgres({ version: 17, config: { max_wal_size: '32MB' } })]);
  // An hour's cooldown: every automatic change after the first is held back; analyze --apply bypasses it.
  const policy = { WALRUS_COOLDOWN_SEC: '3600', WALRUS_THRESHOLD: '2', WALRUS_MAX: '16GB' };
  watch = await SubjectWatch.open(nats.url, ['walrus.decision.>', 'walrus.applied.>']);
  for (let i = 0; i < 2; i++) deciders.push(await startInProcess(decider, policy, nats.url));
  svc.applier = await startInProcess(applier, { WALRUS_CLUSTERS: `${C}=${pgc.url}` }, nats.url);
  svc.control = await startInProcess(control, { WALRUS_CLUSTERS: `${C}=${pgc.url}`, WALRUS_PAGE: 'off', ...policy }, nats.url);
  nc = await connect({ servers: nats.url, name: 'decider-requests-test' });
  // A baseline, evaluated by one of the deciders.
  const at = await publishSample();
  await waitFor(async () => (await status()).last_evaluated_at === new Date(at).toISOString(), { what: 'the baseline', timeoutMs: 20_000 });
});

afterAll(async () => {
  await nc?.close();
  await watch?.close();
  for (const s of [...Object.values(svc), ...deciders].reverse()) await s.stop();
  await cleanupAll();
});

async function readLive(): Promise<Sample> {
  const client = await pgc.connect();
  try {
    return await readSample(client, C, WALRUS_PARAM_NAMES, () => new Date());
  } finally {
    await client.end();
  }
}
async function publishSample(): Promise<string> {
  const s = await readLive();
  await publishJs(nc, `walrus.sample.${C}`, s, sampleMsgId(C, s.collected_at));
  return s.collected_at;
}
const checkpoints = (n: number): Promise<void> => requestCheckpoints(pgc, n);
async function request<T>(subject: string, body: unknown): Promise<ApiReply<T>> {
  return (await nc.request(subject, JSON.stringify(body), { timeout: 30_000 })).json<ApiReply<T>>();
}
async function status() {
  const r = await request<StatusResult>(apiSubject('status'), { cluster: C });
  if (!r.ok) throw new Error(r.error.message);
  return defined(r.result.clusters[0]);
}
const metricSum = async (re: RegExp) => {
  let sum = 0;
  for (const d of deciders) sum += Number(re.exec(await d.registry.metrics())?.[1] ?? 0);
  return sum;
};
const manualDecisions = () => watch.on(`walrus.decision.${C}`).filter((d) => (d.metadata as Record<string, unknown>)['rate_limits_bypassed'] === true);

describe('decider requests - analyze --apply and reset are served by exactly one decider', () => {
  it('one analyze --apply request with two deciders running: one decider answers, one decision, applied', async () => {
    await checkpoints(2);
    const r = await request<AnalyzeResult>(apiSubject('analyze'), { cluster: C, apply: true });
    expect(r).toMatchObject({ ok: true, result: { applied: true, apply_status: 'applied', max_wal_size_mb: 96, recommendation: { sample_source: 'live' } } });
    const id = r.ok ? r.result.decision_id : null;
    expect(manualDecisions().map((d) => d.id)).toEqual([id]);
    expect(await metricSum(/walrus_decider_requests_total\{request="analyze",result="ok",service="decider"\} (\d+)/)).toBe(1);
    expect(await metricSum(/walrus_decisions_total\{cluster="reqs",action="increase",service="decider"\} (\d+)/)).toBe(1);
    expect(/walrus_manual_decisions_total\{cluster="reqs",action="increase",service="control"\} (\d+)/.exec(await defined(svc.control).registry.metrics())?.[1]).toBe('1');
    expect(await maxWalSizeMb(pgc)).toBe(96);
    expect(await status()).toMatchObject({ total_adjustments: 1, changes_this_hour: 1 });
  });

  it('four analyze --apply requests at once, over two deciders: one decision, counted once in the state', async () => {
    await checkpoints(3);
    const replies = await Promise.all(Array.from({ length: 4 }, () => request<AnalyzeResult>(apiSubject('analyze'), { cluster: C, apply: true })));
    const results = replies.map((r) => (r.ok ? r.result : null));
    expect(results.every((r) => r !== null)).toBe(true);
    const made = results.filter((r) => defined(r).decision_id !== null);
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ applied: true, max_wal_size_mb: 384 });
    // The others found nothing left to do: their statistics were not newer, or showed no new forced checkpoint.
    for (const r of results.filter((x) => defined(x).decision_id === null)) expect(defined(r).reason).toMatch(/^nothing to apply: /);
    expect(manualDecisions()).toHaveLength(2);
    expect(await status()).toMatchObject({ total_adjustments: 2, changes_this_hour: 2, current_max_wal_size_mb: 384 });
    expect(await metricSum(/walrus_decider_requests_total\{request="analyze",result="ok",service="decider"\} (\d+)/)).toBe(5);
  });

  it('a forged request: a sample from the future or of another cluster is refused; forged walrus.* settings are not used', async () => {
    const live = await readLive();
    const future = { ...live, collected_at: new Date(Date.now() + 10 * 60_000).toISOString() };
    expect(await request(deciderSubject('analyze'), { cluster: C, sample: future })).toMatchObject({
      ok: false,
      error: { code: 'bad_request', message: expect.stringMatching(/^the live sample is refused: clock ahead: .* ahead of the decider's clock \(at most 300 s, WALRUS_MAX_CLOCK_SKEW_SEC\)/) },
    });
    expect(await request(deciderSubject('analyze'), { cluster: 'other', sample: live })).toMatchObject({
      ok: false,
      error: { code: 'bad_request', message: `the sample is of cluster ${C}, the request of other` },
    });
    expect(await request(deciderSubject('analyze'), { cluster: C, sample: { v: 1 } })).toMatchObject({ ok: false, error: { code: 'bad_request' } });

    // A thousand forced checkpoints and a walrus.max of 2 TB, as a leaked control credential could claim:
    // the size stays within the walrus.max the collector reported (here the deciders' 16 GB).
    const forged = {
      ...live,
      checkpoints_requested: live.checkpoints_requested + 1000,
      max_wal_size_mb: 1000, // not the cluster's size: the applier finds it stale and changes nothing
      settings: { 'walrus.max': '2TB', 'walrus.threshold': '1' },
    };
    const r = await request<DeciderAnalyzeResult>(deciderSubject('analyze'), { cluster: C, sample: forged });
    expect(r).toMatchObject({ ok: true, result: { decision: { action: 'capped', old_size_mb: 1000, new_size_mb: 16384 } } });
    expect(r.ok && r.result.reason).toMatch(/settings differ from those of its last sample/);
    const id = r.ok ? defined(r.result.decision).id : '';
    expect(await watch.next(`walrus.applied.${C}`, (x) => x.decision_id === id, 'the applier’s outcome')).toMatchObject({ status: 'stale' });
    expect(await maxWalSizeMb(pgc)).toBe(384);
  });

  it('reset is done by one decider; the next sample is a new baseline', async () => {
    const r = await request(apiSubject('reset'), { cluster: C });
    expect(r).toEqual({ ok: true, result: { cluster: C, had_state: true } });
    expect(await metricSum(/walrus_decider_requests_total\{request="reset",result="ok",service="decider"\} (\d+)/)).toBe(1);
    expect(await status()).toMatchObject({ has_state: false, total_adjustments: 0 });
    await checkpoints(2);
    const at = await publishSample();
    await waitFor(async () => (await status()).last_evaluated_at === new Date(at).toISOString(), { what: 'a new baseline', timeoutMs: 20_000 });
    expect(await status()).toMatchObject({ has_state: true, total_adjustments: 0 });
  });
});

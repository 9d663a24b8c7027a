import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { decider } from '@walrus/decider';
import { ClusterStateV2, sampleMsgId, type Sample } from '@walrus/core';
import { sampleWith } from '@walrus/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, waitFor, type NatsServer } from './harness/mod.js';
import { publishJs, type InProcessService } from './harness/in-process.js';
import { inProcessPerTest } from './harness/per-test.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

// A clock that jumps must not silence a cluster. Samples are published as a
// collector whose host clock jumped would publish them (collected_at from
// that clock, the message id from it), to a real JetStream and a decider;
// then samples with 5 and 10 forced checkpoints must bring decisions.
const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;
const MB = 1024 * 1024;

let nats: NatsServer;
let watch: SubjectWatch;
const start = inProcessPerTest(() => nats.url);

beforeAll(async () => {
  nats = await startNats();
  watch = await SubjectWatch.open(nats.url, ['walrus.decision.>']);
});
afterAll(async () => {
  await watch?.close();
  await cleanupAll();
});

// No cooldown: the two decisions of each case are both changes, not a change and a skip.
const startDecider = (env: Record<string, string> = {}): Promise<InProcessService> => start(decider, { WALRUS_COOLDOWN_SEC: '0', ...env });

/** What a collector reads: cumulative requested checkpoints and a WAL position that only grows. */
function sample(cluster: string, atMs: number, requested: number, walMb: number): Sample {
  return sampleWith({ cluster, collected_at: new Date(atMs).toISOString(), checkpoints_requested: requested, wal_lsn: '0/0', wal_bytes: walMb * MB });
}

async function publishAll(s: InProcessService, samples: Sample[]): Promise<void> {
  for (const x of samples) await publishJs(s.nc, `walrus.sample.${x.cluster}`, x, sampleMsgId(x.cluster, x.collected_at));
}

/** Waits for the decisions of the given samples, in order; returns their forced checkpoints. */
async function decisionsFor(samples: Sample[]): Promise<number[]> {
  const out: number[] = [];
  for (const x of samples) {
    const d = await watch.next(`walrus.decision.${x.cluster}`, (m) => m.sample_at === x.collected_at, `the decision on ${x.cluster}'s sample of ${x.collected_at}`, 20_000);
    out.push(d.forced_checkpoints as number);
  }
  return out;
}

const metric = async (s: InProcessService, re: RegExp) => Number(re.exec(await s.registry.metrics())?.[1] ?? 0);

async function state(s: InProcessService, cluster: string) {
  const kv = await new Kvm(s.nc).open('walrus_state');
  return ClusterStateV2.parse(defined(await kv.get(cluster)).json());
}

describe('clock jumps - a collector clock that jumps does not silence the cluster', () => {
  it('ahead: a sample dated a year ahead is dead-lettered with its reason and counted, never the last sample; the next samples decide', async () => {
    const s = await startDecider();
    const t = Date.now();
    const ahead = sample('fwd', t + YEAR_MS, 0, 3);
    const normal = [sample('fwd', t + 1000, 5, 4), sample('fwd', t + 2000, 15, 5)];
    await publishAll(s, [sample('fwd', t - 120_000, 0, 1), sample('fwd', t - 60_000, 0, 2), ahead, ...normal]);
    expect(await decisionsFor(normal)).toEqual([5, 10]);

    const jsm = await jetstreamManager(s.nc);
    const dead = await jsm.streams.getMessage('WALRUS_DLQ', { last_by_subj: 'walrus.dlq.decider' });
    expect(dead?.json<Sample>().collected_at).toBe(ahead.collected_at);
    expect(dead?.header.get('Walrus-Original-Subject')).toBe('walrus.sample.fwd');
    expect(dead?.header.get('Walrus-Error')).toMatch(/^clock ahead: collected_at \S+ is 315\d{5} s ahead of the decider's clock \(at most 300 s, WALRUS_MAX_CLOCK_SKEW_SEC\)/);
    expect(await metric(s, /walrus_sample_clock_skew_total\{cluster="fwd",reason="ahead",service="decider"\} (\d+)/)).toBe(1);
    expect(await metric(s, /walrus_dead_letters_total\{service="decider",reason="clock ahead"\} (\d+)/)).toBe(1);
    // The state is saved after the decision is published: wait for it.
    await waitFor(async () => (await state(s, 'fwd')).lastSampleAt === defined(normal[1]).collected_at || null, { what: 'the state saved', timeoutMs: 10_000 });
  });

  it('ahead: the tolerance is WALRUS_MAX_CLOCK_SKEW_SEC', async () => {
    const s = await startDecider({ WALRUS_MAX_CLOCK_SKEW_SEC: '60' });
    const t = Date.now();
    const normal = [sample('tol', t + 1000, 5, 4), sample('tol', t + 2000, 15, 5)];
    // Two minutes ahead: within the default of five minutes, beyond this decider's one.
    await publishAll(s, [sample('tol', t - 60_000, 0, 1), sample('tol', t + 120_000, 0, 2), ...normal]);
    expect(await decisionsFor(normal)).toEqual([5, 10]);
    const jsm = await jetstreamManager(s.nc);
    expect((await jsm.streams.getMessage('WALRUS_DLQ', { last_by_subj: 'walrus.dlq.decider' }))?.header.get('Walrus-Error')).toMatch(
      /^clock ahead: collected_at \S+ is \d+ s ahead of the decider's clock \(at most 60 s, WALRUS_MAX_CLOCK_SKEW_SEC\)/,
    );
  });

  it('back: a collector clock that went back a day and stays there re-baselines the cluster; its next samples decide', async () => {
    const s = await startDecider();
    const t = Date.now();
    const back = t - DAY_MS;
    const normal = [sample('bck', back + 60_000, 5, 4), sample('bck', back + 120_000, 15, 5)];
    await publishAll(s, [sample('bck', t - 120_000, 0, 1), sample('bck', t - 60_000, 0, 2), sample('bck', back, 0, 3), ...normal]);
    expect(await decisionsFor(normal)).toEqual([5, 10]);
    expect(await metric(s, /walrus_sample_clock_skew_total\{cluster="bck",reason="back",service="decider"\} (\d+)/)).toBe(1);
    expect(s.lines.filter((l) => /^clock went back: /.test(l.msg))).toEqual([expect.objectContaining({ cluster: 'bck', level: 40 })]);
    expect(await metric(s, /walrus_samples_evaluated_total\{outcome="ignored_old_sample",service="decider"\} (\d+)/)).toBe(0);
  });

  it('back: one sample from a clock that went back and was set right again costs no decision', async () => {
    const s = await startDecider();
    const t = Date.now();
    const normal = [sample('bk1', t, 5, 4), sample('bk1', t + 1000, 15, 5)];
    await publishAll(s, [sample('bk1', t - 120_000, 0, 1), sample('bk1', t - 60_000, 0, 2), sample('bk1', t - DAY_MS, 0, 3), ...normal]);
    expect(await decisionsFor(normal)).toEqual([5, 10]);
    expect(await metric(s, /walrus_sample_clock_skew_total\{cluster="bk1",reason="back",service="decider"\} (\d+)/)).toBe(1);
  });

  it('rule 1 still holds: a reordered sample (dated within the tolerance before the last one) is ignored', async () => {
    const s = await startDecider();
    const t = Date.now();
    // Stored after the sample of t - 30 s, dated 15 s before it: two collectors' clocks apart, not a jump.
    const reordered = sample('ord', t - 45_000, 5, 3);
    const normal = sample('ord', t - 10_000, 5, 4);
    await publishAll(s, [sample('ord', t - 60_000, 0, 1), sample('ord', t - 30_000, 0, 2), reordered, normal]);
    // The next sample counts the five checkpoints once, from the last sample evaluated.
    expect(await decisionsFor([normal])).toEqual([5]);
    expect(watch.on('walrus.decision.ord').map((d) => d.sample_at)).toEqual([normal.collected_at]);
    expect(await metric(s, /walrus_samples_evaluated_total\{outcome="ignored_old_sample",service="decider"\} (\d+)/)).toBe(1);
    expect(await metric(s, /walrus_sample_clock_skew_total\{cluster="ord",reason="back",service="decider"\} (\d+)/)).toBe(0);
    await waitFor(async () => (await state(s, 'ord')).lastSampleAt === normal.collected_at || null, { what: 'the state saved', timeoutMs: 10_000 });
  });
});

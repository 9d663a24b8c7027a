import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { decider } from '@walrus/decider';
import { readSamplesStream, replay } from '@walrus/cli';
import { DEFAULT_POLICY, type Decision } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessService } from './harness/in-process.js';
import { maxWalSizeMb, requestedCheckpoints } from './harness/load.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';
import { lastSeqOf, waitAcknowledged } from './harness/consumers.js';
import { storedMessages } from './faults/stream.js';

/*
 * Smart sizing on a real PostgreSQL 17 (issue 6): the collector samples every
 * second, the decider runs adaptive (percentile for one phase, set on the
 * cluster itself), the applier resizes. 128 MB and checkpoint_timeout 30 s:
 * CheckPointSegments = floor(8 / 1.9) = 4, so WAL forces a checkpoint some
 * 48 to 64 MB after the last redo point.
 */
const CLUSTER = 'sizing';
let nats: NatsServer;
let pgc: PostgresCluster;
let writer: pg.Client;
let watch: SubjectWatch;
const services: InProcessService[] = [];

beforeAll(async () => {
  [nats, pgc] = await Promise.all([
    startNats(),
    startPostgres({ version: 17, config: { max_wal_size: '128MB', min_wal_size: '32MB', checkpoint_timeout: '30s' } }),
  ]);
  writer = await pgc.connect();
  await writer.query('CREATE TABLE sizing_load (id bigserial, pad text)');
  watch = await SubjectWatch.open(nats.url, [`walrus.decision.${CLUSTER}`, `walrus.sample.${CLUSTER}`]);
  const clusters = { WALRUS_CLUSTERS: `${CLUSTER}=${pgc.url}` };
  services.push(
    await startInProcess(
      decider,
      { WALRUS_ALGORITHM: 'adaptive', WALRUS_MIN_SIZE: '32MB', WALRUS_SHRINK_ENABLE: 'off', WALRUS_COOLDOWN_SEC: '0', WALRUS_THRESHOLD: '2' },
      nats.url,
    ),
    await startInProcess(applier, clusters, nats.url),
    await startInProcess(collector, { ...clusters, WALRUS_SAMPLE_INTERVAL: '1' }, nats.url),
  );
  await watch.next(`walrus.sample.${CLUSTER}`, () => true, 'a first sample');
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(services.map((s) => s.stop()));
  await watch?.close();
  await cleanupAll();
});

async function setAlgorithm(name: string): Promise<void> {
  await pgc.query(`ALTER SYSTEM SET walrus.algorithm = '${name}'`);
  await pgc.query('SELECT pg_reload_conf()');
  await watch.next(`walrus.sample.${CLUSTER}`, (s) => (s['settings'] as Record<string, string>)['walrus.algorithm'] === name, `a sample with ${name}`, 30_000);
}

describe('sizing - manual checkpoints', () => {
  it.each(['adaptive', 'percentile'])('sizing - a storm of CHECKPOINT commands does not grow max_wal_size under %s', async (algorithm) => {
    await setAlgorithm(algorithm);
    const sizeBefore = await maxWalSizeMb(pgc);
    const requestedBefore = await requestedCheckpoints(pgc);
    const from = Date.now();
    // 25 checkpoints in ~6 s, each after a small write: far more than walrus.threshold per sample interval.
    for (let i = 0; i < 25; i++) {
      await writer.query("INSERT INTO sizing_load (pad) SELECT repeat('c', 200) FROM generate_series(1, 100)");
      await writer.query('CHECKPOINT');
      await sleep(200);
    }
    // Every sample covering the storm evaluated: the decider has acknowledged
    // them up to one taken after it (it publishes a decision before it
    // acknowledges the sample), so the stream holds whatever they caused.
    const stormEnd = Date.now();
    await watch.next(`walrus.sample.${CLUSTER}`, (s) => Date.parse(String(s['collected_at'])) > stormEnd + 1000, 'a sample after the storm', 30_000);
    const nc = defined(services[0]).nc;
    const subject = `walrus.sample.${CLUSTER}`;
    await waitAcknowledged(nc, 'WALRUS_SAMPLES', subject, await lastSeqOf(nc, 'WALRUS_SAMPLES', subject), { what: 'the samples of the storm evaluated', timeoutMs: 30_000 });
    expect(await requestedCheckpoints(pgc)).toBeGreaterThanOrEqual(requestedBefore + 25);
    const decided = (await storedMessages<Decision>(nc, 'WALRUS_DECISIONS', `walrus.decision.${CLUSTER}`)).map((m) => m.data);
    expect(decided.filter((d) => Date.parse(d.sample_at) >= from && (d.action === 'increase' || d.action === 'capped'))).toEqual([]);
    expect(await maxWalSizeMb(pgc)).toBe(sizeBefore);

    // The decider said why: none of them were WAL-caused.
    const decider0 = defined(services[0]);
    const reasons = decider0.lines.filter((l) => String(l['msg'] ?? '').includes('by something else (CHECKPOINT command'));
    expect(reasons.length).toBeGreaterThan(0);

    // The same samples, replayed through pg_walrus's rule, would have grown max_wal_size.
    const { samples } = await readSamplesStream(nats.url, CLUSTER, 100_000);
    const storm = samples.filter((s) => Date.parse(s.collected_at) >= from - 1000);
    expect(storm.every((s) => s.checkpoint_redo_bytes !== undefined && s.wal_segment_size_bytes === 16 * 1024 * 1024)).toBe(true);
    const policy = { ...DEFAULT_POLICY, minSizeMb: 32, cooldownSec: 0 };
    const pgWalrus = replay(storm, { algorithm: 'multiplicative', defaults: policy, overrides: {}, follow: true });
    expect(pgWalrus.summary.increases).toBeGreaterThan(0);
    const same = replay(storm, { algorithm: algorithm as 'adaptive', defaults: policy, overrides: {}, follow: true });
    expect(same.summary.increases).toBe(0);
  }, 120_000);
});

describe('sizing - proactive growth', () => {
  it('sizing - adaptive grows max_wal_size before WAL forces any checkpoint', async () => {
    await setAlgorithm('adaptive');
    expect(await maxWalSizeMb(pgc)).toBe(128);
    // A fresh redo point, then ~4 MB/s: 30 s of that (120 MB) needs 288 MB, where 128 MB forces a checkpoint every 48 MB or so.
    await writer.query('CHECKPOINT');
    // That CHECKPOINT counts as requested: let a sample take it in before the load starts.
    const checkpointed = Date.now();
    await watch.next(`walrus.sample.${CLUSTER}`, (s) => Date.parse(String(s['collected_at'])) > checkpointed + 200, 'a sample after the CHECKPOINT', 30_000);
    const requestedAtStart = await requestedCheckpoints(pgc);
    const decisionsBefore = watch.on(`walrus.decision.${CLUSTER}`).length;
    let grown = false;
    const load = (async () => {
      for (let i = 0; i < 60 && !grown; i++) {
        const started = Date.now();
        // ~4 MB of WAL per round (8000 rows of ~500 bytes), one round per second.
        await writer.query("INSERT INTO sizing_load (pad) SELECT repeat('p', 450) FROM generate_series(1, 8000)");
        await sleep(Math.max(0, 1000 - (Date.now() - started)));
      }
    })();
    await waitFor(async () => (await maxWalSizeMb(pgc)) > 128, { timeoutMs: 60_000, intervalMs: 200, what: 'max_wal_size to grow' });
    const requestedAtGrowth = await requestedCheckpoints(pgc);
    grown = true;
    await load;

    const first = watch.on(`walrus.decision.${CLUSTER}`).slice(decisionsBefore).find((d) => d['action'] === 'increase');
    expect(first).toMatchObject({ algorithm: 'adaptive', forced_checkpoints: 0, old_size_mb: 128 });
    expect(first?.['metadata']).toMatchObject({ trigger: 'proactive', proactive: true });
    expect(Number(first?.['new_size_mb'])).toBeGreaterThan(192);
    // Not one checkpoint was requested between the load's start and the new size being in force.
    expect(requestedAtGrowth).toBe(requestedAtStart);
  }, 120_000);
});

describe('sizing - what the decider tells', () => {
  it('sizing - exports the WAL rate and the size it needs, and logs a change of time profile', async () => {
    const dec = defined(services[0]);
    const gauge = async (name: string) => {
      const metric = await dec.registry.getSingleMetric(name)?.get();
      return metric?.values.find((v) => v.labels['cluster'] === CLUSTER)?.value;
    };
    // Whole checkpoint intervals (30 s) have been measured by now.
    await expect.poll(() => gauge('walrus_wal_rate_bytes_per_second'), { timeout: 40_000 }).toBeGreaterThan(0);
    // The two gauges of one evaluation: read again when a sample moved the rate in between.
    const { rate, required } = await waitFor(
      async () => {
        const r = defined(await gauge('walrus_wal_rate_bytes_per_second'));
        const q = defined(await gauge('walrus_required_size_bytes'));
        return (await gauge('walrus_wal_rate_bytes_per_second')) === r ? { rate: r, required: q } : null;
      },
      { what: 'the WAL rate and the required size of one evaluation', timeoutMs: 30_000, intervalMs: 100 },
    );
    // PostgreSQL's whole-segment rule (docs/POSTGRES-NOTES.md), written out
    // here rather than taken from core: a backend forces a checkpoint once
    // the segment it has just filled is CheckPointSegments - 1 past the redo
    // point's segment, and the redo point may sit at the end of its segment,
    // so one checkpoint_timeout of WAL (W = rate x 30 s) stays timed when
    // CheckPointSegments >= floor(W / 16 MB) + 2, where CheckPointSegments =
    // floor(whole segments in max_wal_size / (1 + checkpoint_completion_target)).
    // With the server's checkpoint_completion_target of 0.9 that is
    // floor(10 n / 19) for n segments, at least k when n >= 19 k / 10: the
    // fewest whole segments are ceil(19 k / 10).
    expect(await pgc.query("SELECT current_setting('checkpoint_completion_target') AS cct, current_setting('wal_segment_size') AS seg")).toEqual([{ cct: '0.9', seg: '16MB' }]);
    const MB = 1024 * 1024;
    const segment = 16 * MB;
    const k = Math.floor((rate * 30) / segment) + 2;
    const segments = Math.ceil((19 * k) / 10);
    expect(required).toBe(segments * segment);

    await pgc.query(`ALTER SYSTEM SET walrus.profiles = '[{"name":"all-day","start_hour":0,"end_hour":24,"overrides":{"walrus.threshold":"9"}}]'`);
    await pgc.query('SELECT pg_reload_conf()');
    await waitFor(() => dec.lines.find((l) => l['msg'] === 'time profile active' && l['profile'] === 'all-day'), {
      timeoutMs: 30_000,
      what: 'the profile change in the decider log',
    });
    const active = await dec.registry.getSingleMetric('walrus_active_profile')?.get();
    expect(active?.values.find((v) => v.labels['cluster'] === CLUSTER)?.labels['profile']).toBe('all-day');
  }, 90_000);
});

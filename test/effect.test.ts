import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { runControlCommand } from '@walrus/cli';
import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { control } from '@walrus/control';
import { decider } from '@walrus/decider';
import { historian } from '@walrus/historian';
import { EffectV1, type Effect, type HistoryRow } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defined } from './harness/defined.js';
import { startInProcess, type InProcessService } from './harness/in-process.js';
import { maxWalSizeMb, requestedCheckpoints } from './harness/load.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { SubjectWatch } from './harness/watch.js';

/*
 * Every change checked for its effect (issue 25 item 4), on a real
 * PostgreSQL 15 (pg_stat_bgwriter's checkpoint times) and NATS. pg_walrus's
 * rule (multiplicative) at 64 MB, checkpoint_timeout 30 s, a sample every
 * 2 s, walrus.effect_intervals 1 (the effect is judged 30 s after the new
 * size is in force), a 40 s cooldown (so that no second growth comes
 * before that judgement; a hold is checked before the rate limits). The load: a CHECKPOINT command every second after a small
 * write. pg_walrus's rule grows for them; the growth cannot reduce them.
 */
const CLUSTER = 'effect';
let nats: NatsServer;
let pgc: PostgresCluster;
let writer: pg.Client;
let watch: SubjectWatch;
const services: InProcessService[] = [];

beforeAll(async () => {
  [nats, pgc] = await Promise.all([startNats(), startPostgres({ version: 15, config: { max_wal_size: '64MB', min_wal_size: '32MB', checkpoint_timeout: '30s' } })]);
  await pgc.query('CREATE DATABASE history');
  writer = await pgc.connect();
  await writer.query('CREATE TABLE storm (id bigserial, pad text)');
  watch = await SubjectWatch.open(nats.url, [`walrus.decision.${CLUSTER}`, `walrus.effect.${CLUSTER}`, `walrus.sample.${CLUSTER}`]);
  const clusters = { WALRUS_CLUSTERS: `${CLUSTER}=${pgc.url}` };
  const history = { HISTORY_DATABASE_URL: pgc.urlFor('history') };
  services.push(
    await startInProcess(historian, history, nats.url),
    await startInProcess(
      decider,
      {
        WALRUS_ALGORITHM: 'multiplicative',
        WALRUS_MIN_SIZE: '32MB',
        WALRUS_SHRINK_ENABLE: 'off',
        WALRUS_COOLDOWN_SEC: '40',
        WALRUS_MAX_CHANGES_PER_HOUR: '100',
        WALRUS_EFFECT_INTERVALS: '1',
      },
      nats.url,
    ),
    await startInProcess(applier, clusters, nats.url),
    await startInProcess(control, { ...clusters, ...history, WALRUS_PAGE: 'off' }, nats.url),
    await startInProcess(collector, { ...clusters, WALRUS_SAMPLE_INTERVAL: '2' }, nats.url),
  );
  await watch.next(`walrus.sample.${CLUSTER}`, () => true, 'a first sample', 30_000);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(services.map((s) => s.stop()));
  await writer?.end();
  await watch?.close();
  await cleanupAll();
});

describe('effect - every change checked for its effect', () => {
  it('effect - a growth followed by CHECKPOINT commands that keep coming: flagged forced_elsewhere, in history, and the next growth held back', async () => {
    const requestedBefore = await requestedCheckpoints(pgc);
    let storming = true;
    const storm = (async () => {
      while (storming) {
        await writer.query("INSERT INTO storm (pad) SELECT repeat('s', 200) FROM generate_series(1, 200)");
        await writer.query('CHECKPOINT');
        await sleep(1000);
      }
    })();
    try {
      // pg_walrus's rule grows for them: 2 or more requested over the last checkpoint_timeout.
      const growth = await watch.next(`walrus.decision.${CLUSTER}`, (d) => d.action === 'increase' || d.action === 'capped', 'a growth for the storm', 30_000);
      expect(growth).toMatchObject({ old_size_mb: 64, algorithm: 'multiplicative' });
      const grownTo = growth.new_size_mb as number;
      await waitFor(async () => (await maxWalSizeMb(pgc)) === grownTo, { what: 'the growth applied', timeoutMs: 15_000 });

      // One checkpoint_timeout after the size is in force, the decider judges it.
      const published = await watch.next(`walrus.effect.${CLUSTER}`, (e) => e.decision_id === growth.id, 'the effect of the growth', 60_000);
      const { subject: _subject, ...payload } = published;
      const effect: Effect = EffectV1.parse(payload);
      expect(effect).toMatchObject({ action: growth.action, cause: 'forced_checkpoints', from_mb: 64, to_mb: grownTo, verdict: 'not_helped', flag: 'forced_elsewhere', holds_next_growth: true });
      expect(effect.reason).toContain('not caused by WAL volume');
      expect(effect.after.seconds).toBeGreaterThanOrEqual(28);
      // About one CHECKPOINT a second came after it: far from fewer.
      expect(effect.after.forced_checkpoints).toBeGreaterThanOrEqual(10);
      expect(effect.after.forced_per_hour).toBeGreaterThanOrEqual(effect.before.forced_per_hour);
      expect(effect.after.other_per_hour).toBeGreaterThan(effect.after.wal_caused_per_hour);
      // The collector's new fields, read from PostgreSQL 15's pg_stat_bgwriter, pg_stat_wal and pg_stat_database.
      expect(effect.after.checkpoint_write_ms).not.toBeNull();
      expect(effect.after.checkpoint_sync_ms).not.toBeNull();
      expect(effect.after.transactions).toBeGreaterThanOrEqual(effect.after.forced_checkpoints);
      // Each CHECKPOINT makes the next writes full-page images.
      expect(effect.after.fpi_per_transaction).toBeGreaterThan(0);

      // The storm still forcing checkpoints: the next growth is held back (not left to the cooldown), and says why.
      const held = await watch.next(`walrus.decision.${CLUSTER}`, (d) => d.action === 'skipped' && (d.metadata as Record<string, unknown>)['blocked_by'] === 'no_effect', 'the next growth held back', 45_000);
      expect(held.reason).toContain(`held back: the last growth for forced_checkpoints (decision ${String(growth.id)}) did not reduce forced checkpoints (forced_elsewhere)`);
      expect(held.metadata).toMatchObject({ would_apply: expect.stringMatching(/^(increase|capped)$/), held_by_decision: growth.id, no_effect_flag: 'forced_elsewhere' });
      // walrus status says so while it lasts.
      let status = '';
      await runControlCommand('status', [], { NATS_URL: nats.url }, { out: (t) => (status += t), err: () => undefined });
      expect(status).toMatch(new RegExp(`${CLUSTER}\\s.*growth held \\(forced_elsewhere\\)`));
    } finally {
      storming = false;
      await storm;
    }
    expect(await requestedCheckpoints(pgc)).toBeGreaterThan(requestedBefore + 20);
    // Nothing grew after the first growth.
    expect(watch.on(`walrus.decision.${CLUSTER}`).filter((d) => d.action === 'increase' || d.action === 'capped')).toHaveLength(1);
    const [growth] = watch.on(`walrus.decision.${CLUSTER}`).filter((d) => d.action === 'increase' || d.action === 'capped');
    expect(await maxWalSizeMb(pgc)).toBe(defined(growth).new_size_mb);

    // walrus.history keeps the effect beside the decision (migration 008), and `walrus history` shows it.
    const rows = await waitFor(
      async () => {
        const r = await pgc.query<{ effect_verdict: string | null; effect_flag: string | null; effect: Effect | null }>(
          'SELECT effect_verdict, effect_flag, effect FROM walrus.history WHERE decision_id = $1',
          [defined(growth).id],
          { database: 'history' },
        );
        return r[0]?.effect_verdict ? r : null;
      },
      { what: 'the effect in walrus.history', timeoutMs: 20_000 },
    );
    expect(rows[0]).toMatchObject({ effect_verdict: 'not_helped', effect_flag: 'forced_elsewhere', effect: { decision_id: defined(growth).id, holds_next_growth: true } });
    let out = '';
    const code = await runControlCommand('history', ['--cluster', CLUSTER, '--json'], { NATS_URL: nats.url }, { out: (t) => (out += t), err: () => undefined });
    expect(code).toBe(0);
    const history = JSON.parse(out) as HistoryRow[];
    expect(history.find((r) => r.decision_id === defined(growth).id)?.effect).toMatchObject({ verdict: 'not_helped', flag: 'forced_elsewhere' });
    let table = '';
    await runControlCommand('history', ['--cluster', CLUSTER], { NATS_URL: nats.url }, { out: (t) => (table += t), err: () => undefined });
    expect(table).toMatch(/not_helped \(forced_elsewhere\): forced\/h [\d.]+ -> [\d.]+; next growth held/);
  }, 150_000);
});

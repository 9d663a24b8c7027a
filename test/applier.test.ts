import { jetstreamManager } from '@nats-io/jetstream';
import { applier } from '@walrus/applier';
import type { Decision } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxWalSizeMb } from './harness/load.js';
import { cleanupAll, startNats, startPostgres, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { publishJs } from './harness/in-process.js';
import { inProcessPerTest } from './harness/per-test.js';
import { SubjectWatch } from './harness/watch.js';
import { testDecision } from './harness/messages.js';

let nats: NatsServer;
let pg: PostgresCluster;
let watch: SubjectWatch;
const start = inProcessPerTest(() => nats.url);

beforeAll(async () => {
  [nats, pg] = await Promise.all([startNats(), startPostgres({ version: 18, config: { max_wal_size: '64MB' } })]);
  watch = await SubjectWatch.open(nats.url, ['walrus.applied.>']);
});
afterAll(async () => {
  await watch?.close();
  await cleanupAll();
});

const startApplier = (cluster: string, url: string, env: Record<string, string> = {}) => start(applier, { WALRUS_CLUSTERS: `${cluster}=${url}`, ...env });

const decision = testDecision;

const resultFor = (d: Decision) =>
  watch.next(`walrus.applied.${d.cluster}`, (r) => r.decision_id === d.id, `the outcome of ${d.action} ${d.new_size_mb} MB`);

describe('applier - refuses what it must not do, and says why', () => {
  it('rejects a size above its own guard, whatever the decider says', async () => {
    const s = await startApplier('guard', pg.url, { WALRUS_APPLIER_MAX_MB: '1000' });
    const d = decision('guard', { new_size_mb: 4096 });
    await publishJs(s.nc, 'walrus.decision.guard', d);
    expect(await resultFor(d)).toMatchObject({ status: 'rejected', error: expect.stringMatching(/outside the applier's bounds 2\.\.1000 MB/) });
    expect(await maxWalSizeMb(pg)).toBe(64);
  });

  it('rejects a size below PostgreSQL’s minimum', async () => {
    const s = await startApplier('tiny', pg.url);
    const d = decision('tiny', { action: 'decrease', new_size_mb: 1 });
    await publishJs(s.nc, 'walrus.decision.tiny', d);
    expect(await resultFor(d)).toMatchObject({ status: 'rejected' });
    expect(await maxWalSizeMb(pg)).toBe(64);
  });

  it('does not apply an expired decision', async () => {
    const s = await startApplier('old', pg.url);
    const d = decision('old', { decided_at: new Date(Date.now() - 3600_000).toISOString(), checkpoint_timeout_sec: 60 });
    await publishJs(s.nc, 'walrus.decision.old', d);
    expect(await resultFor(d)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^expired at/) });
    expect(await maxWalSizeMb(pg)).toBe(64);
  });

  it('ignores informational actions (no outcome for skipped and dry_run)', async () => {
    const s = await startApplier('info', pg.url);
    const skipped = decision('info', { action: 'skipped' });
    const real = decision('info', { new_size_mb: 96 });
    await publishJs(s.nc, 'walrus.decision.info', skipped);
    await publishJs(s.nc, 'walrus.decision.info', real);
    expect(await resultFor(real)).toMatchObject({ status: 'applied', max_wal_size_mb: 96 });
    expect(watch.on('walrus.applied.info').map((r) => r.decision_id)).toEqual([real.id]);
    await pg.query("ALTER SYSTEM SET max_wal_size = '64MB'");
    await pg.query('SELECT pg_reload_conf()');
  });

  it('dead-letters an invalid decision with the reason, and goes on with the next one', async () => {
    const s = await startApplier('poison', pg.url);
    const jsm = await jetstreamManager(s.nc);
    const dlqCount = async () => (await jsm.streams.info('WALRUS_DLQ', { subjects_filter: 'walrus.dlq.applier' })).state.subjects?.['walrus.dlq.applier'] ?? 0;
    const before = await dlqCount();
    const badJson = '{"v":1,"action":';
    const badSchema = JSON.stringify({ ...decision('poison'), new_size_mb: 'lots' });
    await publishJs(s.nc, 'walrus.decision.poison', badJson);
    await publishJs(s.nc, 'walrus.decision.poison', badSchema);
    const good = decision('poison', { new_size_mb: 96 });
    await publishJs(s.nc, 'walrus.decision.poison', good);
    // In stream order, after the two invalid ones.
    expect(await resultFor(good)).toMatchObject({ status: 'applied', max_wal_size_mb: 96 });
    expect(await dlqCount()).toBe(before + 2);
    const letters: Array<{ data: string; error: string | undefined; subject: string | undefined }> = [];
    const info = await jsm.streams.info('WALRUS_DLQ');
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage('WALRUS_DLQ', { seq }).catch(() => null);
      if (m?.subject === 'walrus.dlq.applier') letters.push({ data: m.string(), error: m.header.get('Walrus-Error'), subject: m.header.get('Walrus-Original-Subject') });
    }
    // Republished unchanged, with the reason and where it came from.
    expect(letters.slice(-2)).toEqual([
      { data: badJson, error: expect.stringMatching(/^bad JSON/), subject: 'walrus.decision.poison' },
      { data: badSchema, error: expect.stringMatching(/^schema violation: new_size_mb/), subject: 'walrus.decision.poison' },
    ]);
    const metrics = await s.registry.metrics();
    expect(metrics).toMatch(/walrus_dead_letters_total\{service="applier",reason="bad JSON"\} 1/);
    expect(metrics).toMatch(/walrus_dead_letters_total\{service="applier",reason="schema violation"\} 1/);
    // Only the valid decision got an outcome.
    expect(watch.on('walrus.applied.poison').map((r) => r.decision_id)).toEqual([good.id]);
    await pg.query("ALTER SYSTEM SET max_wal_size = '64MB'");
    await pg.query('SELECT pg_reload_conf()');
  });

  it('retries an unreachable cluster until the decision expires, then reports failed with the last error', async () => {
    const down = await startPostgres({ version: 18 });
    const url = down.url;
    await down.stop();
    const s = await startApplier('down', url, { WALRUS_APPLY_EXPIRY_SEC: '4', WALRUS_CONNECT_TIMEOUT_SEC: '1' });
    const d = decision('down', { old_size_mb: 1024, new_size_mb: 2048 });
    await publishJs(s.nc, 'walrus.decision.down', d);
    const r = await resultFor(d);
    expect(r).toMatchObject({ status: 'failed' });
    expect(r.error).toMatch(/^expired at .*; last error: .*ECONNREFUSED/);
    expect(await s.registry.metrics()).toMatch(/walrus_apply_retries_total\{cluster="down",service="applier"\} [1-9]/);
  });

  it('reports a command-line max_wal_size as a failure, never as applied', async () => {
    const pinned = await startPostgres({ version: 18, args: ['-c', 'max_wal_size=64MB'] });
    const s = await startApplier('pinned', pinned.url, { WALRUS_APPLY_VERIFY_TIMEOUT_SEC: '1' });
    const d = decision('pinned');
    await publishJs(s.nc, 'walrus.decision.pinned', d);
    const r = await resultFor(d);
    expect(r).toMatchObject({ status: 'failed', max_wal_size_mb: 64 });
    expect(r.error).toMatch(/command line/);
  });

  it('fails once, with what to do, where ALTER SYSTEM is disabled (allow_alter_system = off)', async () => {
    const managed = await startPostgres({ version: 18, config: { allow_alter_system: 'off', max_wal_size: '64MB' } });
    const s = await startApplier('managed', managed.url);
    const d = decision('managed');
    await publishJs(s.nc, 'walrus.decision.managed', d);
    const r = await resultFor(d);
    expect(r).toMatchObject({ status: 'failed' });
    expect(r.error).toMatch(/ALTER SYSTEM is disabled.*allow_alter_system = off.*CloudNativePG/);
    expect(watch.on('walrus.applied.managed')).toHaveLength(1);
  });
});

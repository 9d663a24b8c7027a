import type pg from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { Writable } from 'node:stream';
import { alertId, type Alert } from '@walrus/core';
import { AlertPublisher } from '@walrus/decider';
import { ALERT_SUBJECTS, createLogger, ensureStreamSubjects, JetStreamRequests } from '@walrus/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWal } from './harness/load.js';
import { cleanupAll, PG_VERSIONS, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

afterAll(cleanupAll);

const MB = 1024 * 1024;
const BUDGET_MB = 256;
const MIN_MB = 32;
const SLOT = 'walrus_stuck';

/** WALRUS_DECISIONS as a walrus from before alerts created it. */
async function createOldDecisionsStream(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: 'WALRUS_DECISIONS',
    subjects: ['walrus.decision.>', 'walrus.applied.>'],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: 1,
    duplicate_window: 300_000_000_000,
    max_age: 30 * 86400 * 1_000_000_000,
  });
  await nc.close();
}

async function leastPrivilegeRole(pgc: PostgresCluster): Promise<string> {
  await pgc.query('CREATE ROLE walrus LOGIN');
  await pgc.query('GRANT pg_monitor TO walrus');
  await pgc.query('GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO walrus');
  await pgc.query('GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO walrus');
  return pgc.urlFor('postgres', 'walrus');
}

/** The value of the series `name` with (at least) these labels in a /metrics text, or undefined. */
function seriesValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (m?.[1] === name && Object.entries(labels).every(([k, v]) => defined(m[2]).includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

interface SampleMsg {
  collected_at: string;
  replication_slots?: Array<{ name: string; retained_bytes: number | null }>;
  wal_keep_size_mb?: number;
}

// A stuck slot under a write load with a 256 MB budget, and a failing
// archiver, on each supported version: walrus with the least-privilege role,
// as one `walrus all` process.
describe.each(PG_VERSIONS)('disk safety - PostgreSQL %i', (version) => {
  const C = `pg${version}`;
  const A = `pg${version}-archive`;
  let nats: NatsServer;
  let pgc: PostgresCluster;
  let archive: PostgresCluster;
  let walrus: WalrusProcess;
  let watcher: WalrusProcess;
  let watch: SubjectWatch;
  let listener: pg.Client;
  const notifications: Record<string, unknown>[] = [];

  const alerts = (kind: string, state?: string) =>
    watch.on(`walrus.alert.${C}`).filter((a) => a.kind === kind && (state === undefined || a.state === state) && (kind !== 'slot_retention' || a.slot === SLOT));
  const metrics = async () => {
    const port = defined(walrus.lines.find((l) => l.msg === 'started')).metricsPort as number;
    return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  };

  beforeAll(async () => {
    [nats, pgc, archive] = await Promise.all([
      startNats(),
      startPostgres({ version, config: { max_wal_size: '32MB', checkpoint_timeout: '30s' } }),
      startPostgres({ version, config: { archive_mode: 'on', archive_command: 'false' } }),
    ]);
    await createOldDecisionsStream(nats.url);
    await pgc.query('CREATE DATABASE history');
    const url = await leastPrivilegeRole(pgc);
    const archiveUrl = await leastPrivilegeRole(archive);
    // An inactive physical slot that reserves WAL at once: it holds everything written from now on.
    await pgc.query('SELECT pg_create_physical_replication_slot($1, true)', [SLOT]);
    watch = await SubjectWatch.open(nats.url, ['walrus.sample.>', 'walrus.decision.>', 'walrus.alert.>']);
    walrus = startWalrus(['all'], {
      NATS_URL: nats.url,
      WALRUS_CLUSTERS: `${C}=${url},${A}=${archiveUrl}`,
      HISTORY_DATABASE_URL: pgc.urlFor('history'),
      WALRUS_SAMPLE_INTERVAL: '1',
      WALRUS_WAL_DISK_BUDGET: `${BUDGET_MB}MB`,
      WALRUS_MIN_SIZE: `${MIN_MB}MB`,
      WALRUS_COOLDOWN_SEC: '0',
      WALRUS_MAX_CHANGES_PER_HOUR: '1000',
    });
    await walrus.waitForLog((l) => l.msg === 'started', 'walrus all started');
    listener = await pgc.connect({ database: 'history' });
    listener.on('notification', (n) => notifications.push(JSON.parse(n.payload ?? '{}') as Record<string, unknown>));
    await listener.query('LISTEN walrus_events');
    watcher = startWalrus(['watch', C], { NATS_URL: nats.url });
    await waitFor(() => watcher.stderr().includes(`walrus.alert.${C}`), { what: 'walrus watch subscribed', timeoutMs: 15_000 });
  });

  afterAll(async () => {
    await watcher?.stop();
    await walrus?.stop();
    await watch?.close();
  });

  it('disk safety - a stream created by an older walrus gets the alert subject at start-up, and says so', async () => {
    const line = walrus.lines.find((l) => l.msg === 'added subjects to a stream created by an older walrus');
    expect(line).toMatchObject({ stream: 'WALRUS_DECISIONS', added: [ALERT_SUBJECTS] });
    expect(walrus.lines.filter((l) => l.msg.includes('does not store walrus.alert'))).toEqual([]);
  });

  it('disk safety - a stuck slot: walrus never decides past the budget, and slot_retention fires once naming the slot', async () => {
    await waitFor(() => watch.on(`walrus.sample.${C}`).length >= 2, { what: 'a baseline sample', timeoutMs: 30_000 });
    // Write until the slot holds 80 % of the budget (205 MB); the alert must follow. Samples
    // after every three rounds (about 50 MB of WAL, three forced checkpoints at 32 MB), so that
    // walrus sees the slot grow step by step (a growth, then shrinks) however fast this machine writes.
    for (let i = 0; i < 30 && alerts('slot_retention', 'firing').length === 0; i++) {
      const n = watch.on(`walrus.sample.${C}`).length;
      await writeWal(pgc, { rounds: 3 });
      await waitFor(() => watch.on(`walrus.sample.${C}`).length > n + 1, { what: 'a sample after the round', timeoutMs: 30_000 });
    }
    const firing = await waitFor(() => alerts('slot_retention', 'firing')[0], { what: 'the slot_retention alert', timeoutMs: 30_000 });
    expect(firing).toMatchObject({ v: 1, cluster: C, kind: 'slot_retention', state: 'firing', slot: SLOT, budget_bytes: BUDGET_MB * MB });
    expect(firing.retained_bytes as number).toBeGreaterThanOrEqual(0.8 * BUDGET_MB * MB);
    expect(firing.detail).toMatch(new RegExp(`^replication slot ${SLOT} \\(physical, inactive.*\\) holds \\d+ MB of WAL: \\d+ % of walrus.wal_disk_budget 256 MB`));

    // More samples (and more WAL) while it holds: no second alert.
    const seen = watch.on(`walrus.sample.${C}`).length;
    await writeWal(pgc, { rounds: 2 });
    await waitFor(() => watch.on(`walrus.sample.${C}`).length >= seen + 3, { what: 'three more samples', timeoutMs: 30_000 });
    expect(alerts('slot_retention')).toHaveLength(1);

    // Every size walrus decided fits the budget with what the slot held at that sample.
    const samples = new Map(watch.on(`walrus.sample.${C}`).map((s) => [Date.parse((s as unknown as SampleMsg).collected_at), s as unknown as SampleMsg]));
    const decisions = watch.on(`walrus.decision.${C}`);
    expect(decisions.length).toBeGreaterThan(0);
    for (const d of decisions) {
      const s = samples.get(Date.parse(d.sample_at as string));
      expect(s, `the sample of decision ${String(d.id)}`).toBeDefined();
      const heldMb = Math.ceil(Math.max(0, ...(defined(s).replication_slots ?? []).map((x) => x.retained_bytes ?? 0)) / MB) + (defined(s).wal_keep_size_mb ?? 0);
      if (['increase', 'capped', 'decrease', 'dry_run', 'skipped'].includes(d.action as string) && (d.new_size_mb as number) > (d.old_size_mb as number)) {
        expect(d.new_size_mb as number, String(d.reason)).toBeLessThanOrEqual(Math.max(BUDGET_MB - heldMb, MIN_MB));
      }
    }
    // The slot shaped at least one decision (a capped growth or a shrink), and the reason names it.
    const shaped = decisions.filter((d) => String(d.reason).includes(`replication slot ${SLOT}`));
    expect(shaped.length).toBeGreaterThan(0);
    expect(shaped.every((d) => d.action === 'capped' || d.action === 'decrease')).toBe(true);

    const text = await metrics();
    expect(seriesValue(text, 'walrus_slot_retained_bytes', { cluster: C, slot: SLOT })).toBeGreaterThanOrEqual(0.8 * BUDGET_MB * MB);
    expect(seriesValue(text, 'walrus_wal_disk_used_bytes', { cluster: C })).toBeGreaterThan(0.8 * BUDGET_MB * MB);
    expect(seriesValue(text, 'walrus_wal_disk_budget_bytes', { cluster: C })).toBe(BUDGET_MB * MB);
    expect(seriesValue(text, 'walrus_alerts_total', { cluster: C, kind: 'slot_retention', state: 'firing' })).toBe(1);
    // Archiving is off on this cluster: no archiver series.
    expect(seriesValue(text, 'walrus_archiver_failing', { cluster: C })).toBeUndefined();
  });

  it('disk safety - dropping the slot resolves the alert; the historian keeps each event once and relays it with NOTIFY; watch shows them', async () => {
    await pgc.query('SELECT pg_drop_replication_slot($1)', [SLOT]);
    const resolved = await waitFor(() => alerts('slot_retention', 'resolved')[0], { what: 'the resolved alert', timeoutMs: 30_000 });
    expect(resolved).toMatchObject({ cluster: C, slot: SLOT, state: 'resolved', detail: `replication slot ${SLOT} no longer exists` });
    expect(alerts('slot_retention')).toHaveLength(2);

    const rows = await waitFor(
      async () => {
        const r = await pgc.query<{ state: string; n: string }>(
          "SELECT state, count(*)::text AS n FROM walrus.alerts WHERE cluster = $1 AND kind = 'slot_retention' AND slot = $2 GROUP BY state ORDER BY state",
          [C, SLOT],
          { database: 'history' },
        );
        return r.length === 2 ? r : null;
      },
      { what: 'both alert rows in walrus.alerts', timeoutMs: 30_000 },
    );
    expect(rows).toEqual([
      { state: 'firing', n: '1' },
      { state: 'resolved', n: '1' },
    ]);
    const firingNow = await pgc.query('SELECT * FROM walrus.alerts_firing WHERE cluster = $1 AND slot = $2', [C, SLOT], { database: 'history' });
    expect(firingNow).toEqual([]);
    await waitFor(() => notifications.find((n) => n.event === 'alert' && n.state === 'resolved' && n.slot === SLOT), { what: 'NOTIFY of the resolved alert', timeoutMs: 15_000 });
    expect(notifications.filter((n) => n.event === 'alert' && n.slot === SLOT && n.cluster === C).map((n) => n.state)).toEqual(['firing', 'resolved']);

    await expect.poll(() => watcher.stdout(), { timeout: 15_000 }).toContain(`ALERT resolved slot_retention slot ${SLOT}`);
    expect(watcher.stdout()).toMatch(new RegExp(`  ${C}  ALERT firing slot_retention slot ${SLOT} \\(\\d+ MB\\): replication slot ${SLOT} `));
    await expect.poll(async () => seriesValue(await metrics(), 'walrus_slot_retained_bytes', { cluster: C, slot: SLOT }), { timeout: 15_000 }).toBeUndefined();
  });

  it('disk safety - archive_command = false raises archiver_failing (no budget needed to say so)', async () => {
    await archive.query('CREATE TABLE t (x int)');
    await archive.query('SELECT pg_switch_wal()');
    const a = await watch.next(`walrus.alert.${A}`, (x) => x.kind === 'archiver_failing', 'the archiver_failing alert');
    expect(a).toMatchObject({ v: 1, cluster: A, state: 'firing', kind: 'archiver_failing' });
    expect(a.failed_count as number).toBeGreaterThan(0);
    expect(a.detail).toMatch(/^archiving fails: \d+ failed attempt\(s\), the last for [0-9A-F]{24} at /);
    await expect.poll(async () => seriesValue(await metrics(), 'walrus_archiver_failing', { cluster: A }), { timeout: 15_000 }).toBe(1);
    // Once, however many samples see it failing.
    const seen = watch.on(`walrus.sample.${A}`).length;
    await waitFor(() => watch.on(`walrus.sample.${A}`).length >= seen + 3, { what: 'three more samples', timeoutMs: 30_000 });
    expect(watch.on(`walrus.alert.${A}`).filter((x) => x.kind === 'archiver_failing')).toHaveLength(1);
  });
});

describe('disk safety - the alert subject on an existing stream', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNats();
  });

  it('disk safety - adding the subject is idempotent and keeps the rest of the stream as it was', async () => {
    await createOldDecisionsStream(nats.url);
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const log = createLogger({ level: 'silent', name: 'test' });
    expect(await ensureStreamSubjects(jsm, 'WALRUS_DECISIONS', [ALERT_SUBJECTS], log)).toEqual([ALERT_SUBJECTS]);
    expect(await ensureStreamSubjects(jsm, 'WALRUS_DECISIONS', [ALERT_SUBJECTS], log)).toEqual([]);
    const info = await jsm.streams.info('WALRUS_DECISIONS');
    expect(info.config.subjects).toEqual(['walrus.decision.>', 'walrus.applied.>', ALERT_SUBJECTS]);
    expect(info.config.max_age).toBe(30 * 86400 * 1_000_000_000);
    await nc.close();
  });

  it('disk safety - without the subject (no provisioning), alerts still reach subscribers, an error says so, and storing resumes once it is added', async () => {
    const url = nats.url;
    const nc = await connect({ servers: url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete('WALRUS_DECISIONS');
    await createOldDecisionsStream(url);
    const lines: Array<{ level: number; msg: string }> = [];
    const log = createLogger({
      level: 'info',
      name: 'test',
      destination: new Writable({
        write(chunk: Buffer, _e, cb) {
          for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as { level: number; msg: string });
          cb();
        },
      }),
    });
    let clock = 1_000_000;
    const requests = new JetStreamRequests(nc);
    const publisher = await AlertPublisher.start({ nc, requests, log, provision: false, now: () => clock });
    expect(lines.filter((l) => l.level === 50 && l.msg.includes('does not store walrus.alert.>'))).toHaveLength(1);

    const received: string[] = [];
    const sub = nc.subscribe('walrus.alert.>', { callback: (_e, m) => void received.push(m.json<Alert>().id) });
    await nc.flush();
    const alert = (at: string): Alert => ({
      v: 1,
      id: alertId('c1', 'archiver_failing', undefined, 'firing', at),
      cluster: 'c1',
      kind: 'archiver_failing',
      state: 'firing',
      at,
      detail: 'archiving fails',
    });
    const first = alert('2026-01-01T00:00:00.000Z');
    await publisher.publish(first);
    await waitFor(() => received.includes(first.id), { what: 'the alert as a plain message', timeoutMs: 5_000 });
    expect((await jsm.streams.info('WALRUS_DECISIONS')).state.messages).toBe(0);

    // An administrator adds the subject; within a minute the decider stores alerts again.
    await ensureStreamSubjects(jsm, 'WALRUS_DECISIONS', [ALERT_SUBJECTS], log);
    clock += 60_000;
    const second = alert('2026-01-01T00:01:00.000Z');
    await publisher.publish(second);
    await publisher.publish(second); // a redelivered sample: stored once
    expect((await jsm.streams.info('WALRUS_DECISIONS')).state.messages).toBe(1);
    expect(lines.some((l) => l.msg === 'alerts are stored in the decisions stream again')).toBe(true);
    sub.unsubscribe();
    requests.close();
    await nc.close();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterStatus } from '@walrus/core';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

afterAll(cleanupAll);

const MB = 1024 * 1024;
const SEGMENT = 16 * MB;

/*
 * A failing archiver (archive_command = 'false') on real servers: walrus
 * reports it with its backlog in segments and bytes, in the alert, the
 * metrics and `walrus status`, and forecasts the budget it is filling.
 */
describe.each([15, 18] as const)('wal volume - failing archiver, PostgreSQL %i', (version) => {
  const C = `arch${version}`;
  let nats: NatsServer;
  let pgc: PostgresCluster;
  let walrus: WalrusProcess;
  let watch: SubjectWatch;

  beforeAll(async () => {
    [nats, pgc] = await Promise.all([startNats(), startPostgres({ version, config: { archive_mode: 'on', archive_command: 'false', max_wal_size: '64MB' } })]);
    await pgc.query('CREATE DATABASE history');
    await pgc.query('CREATE ROLE walrus LOGIN');
    await pgc.query('GRANT pg_monitor TO walrus');
    watch = await SubjectWatch.open(nats.url, ['walrus.alert.>']);
    walrus = startWalrus(['all'], {
      NATS_URL: nats.url,
      WALRUS_CLUSTERS: `${C}=${pgc.urlFor('postgres', 'walrus')}`,
      HISTORY_DATABASE_URL: pgc.urlFor('history'),
      WALRUS_SAMPLE_INTERVAL: '1',
      WALRUS_WAL_DISK_BUDGET: '1GB',
      WALRUS_MIN_SIZE: '32MB',
      WALRUS_FORECAST_HORIZON_SEC: '86400',
    });
    await walrus.waitForLog((l) => l.msg === 'started', 'walrus all started');
  });
  afterAll(async () => {
    await walrus?.stop();
    await watch?.close();
  });

  const metrics = async () => {
    const port = defined(walrus.lines.find((l) => l.msg === 'started')).metricsPort as number;
    return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  };
  const gauge = (text: string, name: string) => Number(new RegExp(`^${name}\\{cluster="${C}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

  const forecastNamesArchiver = (a: Record<string, unknown>) => a.kind === 'wal_disk_forecast' && a.state === 'firing' && a.cause === 'archiver';

  it('wal volume - the backlog in segments and bytes: alert, metrics, status; the forecast names the archiver', async () => {
    await pgc.query('CREATE TABLE t (x int)');
    // A segment switch a second: each one waits to be archived.
    const backlog = async () => Number((await pgc.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"))[0]?.n);
    await waitFor(
      async () => {
        await pgc.query('INSERT INTO t SELECT generate_series(1, 1000)');
        await pgc.query('SELECT pg_switch_wal()');
        await new Promise((r) => setTimeout(r, 1000));
        return watch.on(`walrus.alert.${C}`).some(forecastNamesArchiver) && (await backlog()) >= 4 ? true : undefined;
      },
      { what: 'a backlog of four segments and the forecast', timeoutMs: 60_000 },
    );
    const failing = defined(watch.on(`walrus.alert.${C}`).find((a) => a.kind === 'archiver_failing' && a.state === 'firing'), 'archiver_failing');
    expect(failing.pending_files as number).toBeGreaterThanOrEqual(1);
    expect(failing.pending_bytes).toBe((failing.pending_files as number) * SEGMENT);
    // The first firing event may name pg_wal (the backlog's trend is not known
    // at its first sample); one naming the archiver follows in the same episode.
    const forecasts = watch.on(`walrus.alert.${C}`).filter((a) => a.kind === 'wal_disk_forecast');
    expect(forecasts.every((a) => a.state === 'firing')).toBe(true);
    expect(forecasts.length).toBeLessThanOrEqual(2);
    const forecast = defined(forecasts.find(forecastNamesArchiver));
    expect(forecast).toMatchObject({ cause: 'archiver', budget_bytes: 1024 * MB });
    expect(forecast.detail).toMatch(/the archiver backlog grows by [\d.]+ MB\/s: the budget is reached in about .* \(\d+ segment\(s\), \d+ MB, wait to be archived\)/);

    // Metrics and status follow the latest sample.
    const now = await backlog();
    const text = await waitFor(async () => {
      const t = await metrics();
      return gauge(t, 'walrus_archiver_backlog_segments') >= now ? t : undefined;
    }, { what: 'the backlog in the metrics', timeoutMs: 30_000 });
    expect(gauge(text, 'walrus_archiver_backlog_bytes')).toBe(gauge(text, 'walrus_archiver_backlog_segments') * SEGMENT);
    expect(gauge(text, 'walrus_wal_disk_forecast_seconds')).toBeGreaterThanOrEqual(0);
    const status = startWalrus(['status', C, '--json'], { NATS_URL: nats.url });
    expect(await status.exited).toBe(0);
    const s = JSON.parse(status.stdout()) as ClusterStatus;
    expect(s).toMatchObject({ wal_disk_budget_mb: 1024, bound_slots: false, max_slot_wal_keep_size_mb: -1 });
    expect(s.archiver_backlog_segments).toBeGreaterThanOrEqual(now);
    expect(s.archiver_backlog_bytes).toBe((s.archiver_backlog_segments ?? 0) * SEGMENT);
    const table = startWalrus(['status', C], { NATS_URL: nats.url });
    expect(await table.exited).toBe(0);
    expect(table.stdout()).toMatch(/archiver backlog +\d+ segment\(s\), \d+ MB/);
  });
});

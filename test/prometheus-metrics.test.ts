import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWal } from './harness/load.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { defined } from './harness/defined.js';
import { promtool } from './harness/prometheus.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';

afterAll(cleanupAll);

// Each service as its own process, as docker-compose.yml runs them, watching a
// real PostgreSQL under a write load until a decision is applied, so that its
// per-cluster series exist; then Debian's promtool lints what each serves on
// /metrics (names, help, types, units, counters ending in _total). `walrus
// all` is linted by test/prometheus-queries.test.ts, after its rarer events.

const SERVICES = ['collector', 'decider', 'applier', 'historian', 'control'] as const;
type Service = (typeof SERVICES)[number];

/** A series each must serve once a decision was applied: its own, per cluster where it has them. */
const EXPECTED: Record<Service, RegExp[]> = {
  collector: [/^walrus_cluster_up\{cluster="c1",service="collector"\} 1$/m, /^walrus_samples_published_total\{cluster="c1",service="collector"\} [1-9]/m],
  decider: [
    /^walrus_max_wal_size_bytes\{cluster="c1",service="decider"\} \d+$/m,
    /^walrus_decisions_total\{cluster="c1",action="increase",service="decider"\} [1-9]/m,
    /^walrus_wal_disk_budget_bytes\{cluster="c1",service="decider"\} 1073741824$/m,
    /^walrus_slot_retained_bytes\{cluster="c1",slot="standby1",service="decider"\} \d+$/m,
    /^walrus_archiver_failing\{cluster="c1",service="decider"\} 0$/m,
    /^walrus_message_retries_total\{service="decider"\} 0$/m,
  ],
  applier: [/^walrus_apply_total\{cluster="c1",status="applied",service="applier"\} [1-9]/m, /^walrus_apply_duration_seconds_bucket\{le="\+Inf",service="applier",cluster="c1"\} [1-9]/m],
  historian: [/^walrus_history_database_up\{service="historian"\} 1$/m, /^walrus_history_events_total\{[^}]*service="historian"\} [1-9]/m],
  control: [/^walrus_jetstream_consumer_pending_messages\{stream="WALRUS_DECISIONS",consumer="walrus-applier-c1",service="control"\} \d+$/m],
};

describe('prometheus metrics - promtool check metrics on what each service serves', () => {
  let nats: NatsServer;
  let pgc: PostgresCluster;
  let watch: SubjectWatch;
  const procs = new Map<Service, WalrusProcess>();
  const ports = new Map<Service, number>();

  beforeAll(async () => {
    [nats, pgc] = await Promise.all([
      startNats(),
      // A working archive_command and a slot, so that the decider's disk series exist too.
      startPostgres({ version: 17, config: { max_wal_size: '32MB', checkpoint_timeout: '30s', archive_mode: 'on', archive_command: 'true' } }),
    ]);
    await pgc.query('CREATE DATABASE history');
    await pgc.query("SELECT pg_create_physical_replication_slot('standby1', true)");
    watch = await SubjectWatch.open(nats.url, ['walrus.sample.c1', 'walrus.applied.c1']);
    const env: Record<Service, Record<string, string>> = {
      collector: { WALRUS_CLUSTERS: `c1=${pgc.url}`, WALRUS_SAMPLE_INTERVAL: '1' },
      decider: { WALRUS_THRESHOLD: '1', WALRUS_COOLDOWN_SEC: '0', WALRUS_MIN_SIZE: '32MB', WALRUS_WAL_DISK_BUDGET: '1GB' },
      applier: { WALRUS_CLUSTERS: `c1=${pgc.url}` },
      historian: { HISTORY_DATABASE_URL: pgc.urlFor('history') },
      control: { WALRUS_CLUSTERS: `c1=${pgc.url}`, HISTORY_DATABASE_URL: pgc.urlFor('history') },
    };
    for (const s of SERVICES) {
      const p = startWalrus([s], { NATS_URL: nats.url, ...env[s] });
      procs.set(s, p);
      ports.set(s, (await p.waitForLog((l) => l.msg === 'started', `${s} started`)).metricsPort as number);
    }
  });

  afterAll(async () => {
    await Promise.all([...procs.values()].map((p) => p.stop()));
    await watch?.close();
  });

  it('prometheus metrics - every service, its per-cluster series included, passes promtool check metrics', async () => {
    await waitFor(() => watch.on('walrus.sample.c1').length >= 2, { what: 'a baseline sample', timeoutMs: 30_000 });
    for (let round = 0; round < 10 && !watch.on('walrus.applied.c1').some((a) => a.status === 'applied'); round++) {
      const seen = watch.on('walrus.sample.c1').length;
      await writeWal(pgc, { rounds: 2 });
      await waitFor(() => watch.on('walrus.sample.c1').length > seen + 1, { what: 'a sample after the writes', timeoutMs: 30_000 });
    }
    await watch.next('walrus.applied.c1', (a) => a.status === 'applied', 'an applied decision', 30_000);

    for (const s of SERVICES) {
      const port = defined(ports.get(s), `${s}'s metrics port`);
      const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      // The historian stores the outcome a moment after the applier publishes it.
      for (const series of EXPECTED[s]) await expect.poll(metrics, { timeout: 10_000 }).toMatch(series);
      const text = await metrics();
      const run = promtool(['check', 'metrics'], text);
      expect(`${run.stdout}${run.stderr}`.trim(), `${s}: promtool check metrics`).toBe('');
      expect(run.status, s).toBe(0);
    }
  });
});

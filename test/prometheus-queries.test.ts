import { createServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { SAMPLE_INTERVAL_HEADER } from '@walrus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ALERTS_FILE, alertRules, dashboards, grafanaExpr, PROMETHEUS_CONFIG_FILE } from './harness/deploy-files.js';
import { defined } from './harness/defined.js';
import { publishJs } from './harness/in-process.js';
import { writeWal } from './harness/load.js';
import { loseSlot } from './harness/slots.js';
import { cleanupAll, freePort, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { promtool, startPrometheus, type PrometheusServer, type PromSample } from './harness/prometheus.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';

afterAll(cleanupAll);

// A real Prometheus (deploy/prometheus/prometheus.yml with its rules, scraping
// every second) scrapes `walrus all` watching a real PostgreSQL under a write
// load, and answers every expression of deploy/prometheus/alerts.yml and of
// the deploy/grafana dashboards' panels with data. Nothing is excused: each
// condition an alert watches for is brought about for real, on one server
// seen as four clusters through roles with different grants and settings:
//
//   full     every grant; an inactive slot holding WAL and a failing archive_command
//            on the server, under a WAL disk budget: the disk alerts, forced
//            checkpoints for long, decisions and applies
//   capped   walrus.max 32 MB set for its role (max_wal_size stays at walrus.max
//            while checkpoints are forced), an invalid walrus.threshold, no ALTER grant
//   nogrant  no pg_monitor (no disk readings) and no ALTER grant (its applies fail)
//   down     a port nothing listens on (unreachable)
//   pair     two members (a multi-host URL, as nogrant): this server, and a port
//            nothing listens on (a member unreachable while the cluster is up)
//
// and besides: a process Prometheus cannot scrape (up == 0), a poison message
// (a dead letter), a sample of a cluster whose collector went away half an hour
// ago (not sampled), a durable consumer nobody reads (lag growing), and at the
// end the history database refusing connections.

const BUDGET_MB = 128;
const SLOT = 'walrus_stuck';
/** Grafana's $__rate_interval over the few minutes this test lasts. */
const INTERVALS = { rateInterval: '2m', interval: '15s' };

const rules = alertRules();
const boards = dashboards();

/** Has a value that is a number (not NaN: 0/0 or a quantile of nothing). */
const hasData = (result: PromSample[]): boolean => result.some((s) => !Number.isNaN(Number(s.value[1])));

describe('prometheus queries - every alert and dashboard expression returns data from a real walrus', () => {
  let nats: NatsServer;
  let pgc: PostgresCluster;
  /** A second server, on 15, with a slot PostgreSQL invalidated (WalrusSlotLost). */
  let lostPg: PostgresCluster;
  let walrus: WalrusProcess;
  let prom: PrometheusServer;
  let watch: SubjectWatch;
  let nc: NatsConnection;
  let deadTarget: Server;
  let metricsPort: number;

  beforeAll(async () => {
    [nats, pgc, lostPg] = await Promise.all([
      startNats(),
      startPostgres({ version: 17, config: { max_wal_size: '32MB', checkpoint_timeout: '30s', archive_mode: 'on', archive_command: 'false' } }),
      startPostgres({ version: 15, config: { max_wal_size: '32MB' } }),
    ]);
    await loseSlot(lostPg, 'walrus_gone');
    await pgc.query('CREATE DATABASE history');
    for (const role of ['walrus_full', 'walrus_capped', 'walrus_nogrant']) await pgc.query(`CREATE ROLE ${role} LOGIN`);
    await pgc.query('GRANT pg_monitor TO walrus_full, walrus_capped');
    await pgc.query('GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO walrus_full');
    await pgc.query('GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO walrus_full');
    // Role settings reach walrus as the cluster's own walrus.* overrides.
    await pgc.query("ALTER ROLE walrus_capped SET walrus.max = '32MB'");
    await pgc.query("ALTER ROLE walrus_capped SET walrus.threshold = 'often'");

    nc = await connect({ servers: nats.url });
    watch = await SubjectWatch.open(nats.url, ['walrus.sample.>', 'walrus.decision.>', 'walrus.applied.>']);
    const clusters = {
      full: pgc.urlFor('postgres', 'walrus_full'),
      capped: pgc.urlFor('postgres', 'walrus_capped'),
      nogrant: pgc.urlFor('postgres', 'walrus_nogrant'),
      down: `postgres://walrus@127.0.0.1:${await freePort()}/postgres`,
      pair: `postgres://walrus_nogrant@127.0.0.1:${pgc.port},127.0.0.1:${await freePort()}/postgres`,
      lost: lostPg.url,
    };
    walrus = startWalrus(['all'], {
      NATS_URL: nats.url,
      WALRUS_CLUSTERS: Object.entries(clusters).map(([id, url]) => `${id}=${url}`).join(','),
      HISTORY_DATABASE_URL: pgc.urlFor('history'),
      WALRUS_SAMPLE_INTERVAL: '1',
      WALRUS_WAL_DISK_BUDGET: `${BUDGET_MB}MB`,
      WALRUS_MIN_SIZE: '32MB',
      WALRUS_THRESHOLD: '1',
      WALRUS_COOLDOWN_SEC: '0',
      WALRUS_MAX_CHANGES_PER_HOUR: '1000',
    });
    metricsPort = (await walrus.waitForLog((l) => l.msg === 'started', 'walrus all started')).metricsPort as number;

    // A walrus process Prometheus cannot scrape: it accepts and hangs up.
    deadTarget = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => deadTarget.listen(0, '127.0.0.1', resolve));
    const deadPort = (deadTarget.address() as { port: number }).port;

    // The shipped configuration, with this test's targets, every second, and the shipped rules.
    const config = parse(readFileSync(PROMETHEUS_CONFIG_FILE, 'utf8')) as {
      global: Record<string, string>;
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }>; dns_sd_configs?: unknown }>;
    };
    config.global = { ...config.global, scrape_interval: '1s', evaluation_interval: '1s' };
    config.rule_files = [ALERTS_FILE];
    const job = defined(config.scrape_configs.find((s) => s.job_name === 'walrus'), 'the walrus scrape job');
    job.static_configs = [{ targets: [`127.0.0.1:${metricsPort}`, `127.0.0.1:${deadPort}`] }];
    // The compose replicas found by DNS are not here.
    delete job.dns_sd_configs;
    prom = await startPrometheus({ config: stringify(config) });
  });

  afterAll(async () => {
    await walrus?.stop();
    await watch?.close();
    await nc?.close();
    await new Promise((resolve) => (deadTarget ? deadTarget.close(resolve) : resolve(undefined)));
  });

  const missing = async (exprs: string[]): Promise<string[]> => {
    const out: string[] = [];
    for (const e of exprs) if (!hasData(await prom.query(e))) out.push(e);
    return out;
  };

  /*
   * Every condition the rules watch for, brought about once, by whichever
   * test needs them first: each test runs alone (-t) and in any order.
   */
  let bringing: Promise<void> | undefined;
  const broughtAbout = (): Promise<void> => (bringing ??= bringAbout());

  async function bringAbout(): Promise<void> {
    await waitFor(() => watch.on('walrus.sample.full').length >= 2 && watch.on('walrus.sample.nogrant').length >= 1, {
      what: 'baseline samples of full and nogrant',
      timeoutMs: 30_000,
    });
    // Prometheus has scraped the counters at their start (0) before anything happens.
    await waitFor(async () => hasData(await prom.query('walrus_forced_checkpoints_total{cluster="full"}')), { what: 'a first scrape', timeoutMs: 20_000 });

    // A poison message: the decider dead-letters it.
    await publishJs(nc, 'walrus.sample.poison', '{"v":1, this is not JSON');
    // A cluster whose collector stopped half an hour ago: its last sample, as it was published then.
    const last = defined(watch.on('walrus.sample.full').at(-1), 'a sample of full');
    const { pg_wal_bytes: _w, replication_slots: _s, replication_slot_count: _n, archiver: _a, wal_keep_size_mb: _k, ...plain } = last;
    const ghostAt = new Date(Date.now() - 30 * 60_000);
    // Its collector's interval was a second: no_samples fires a minute after the sample was stored, once a decider sweeps.
    await jetstream(nc).publish('walrus.sample.ghost', JSON.stringify({ ...plain, cluster: 'ghost', collected_at: ghostAt.toISOString() }), {
      msgID: `ghost:${ghostAt.getTime()}`,
      headers: (() => {
        const h = headers();
        h.set(SAMPLE_INTERVAL_HEADER, '1');
        return h;
      })(),
    });

    // A first resize of full, before the slot holds anything: once the slot
    // holds more than budget − min_size, the budget caps every growth at the
    // size full already has, and the resize annotation and the applied
    // series would depend on which came first (CI saw the slot win).
    for (let round = 0; round < 20 && !watch.on('walrus.applied.full').some((a) => a.status === 'applied'); round++) {
      const seen = watch.on('walrus.sample.full').length;
      await writeWal(pgc, { rounds: 2 });
      await waitFor(() => watch.on('walrus.sample.full').length > seen + 1, { what: 'a sample after the writes', timeoutMs: 30_000 });
    }
    await waitFor(() => watch.on('walrus.applied.full').some((a) => a.status === 'applied'), { what: 'a first applied resize of full', timeoutMs: 30_000 });
    await pgc.query('SELECT pg_create_physical_replication_slot($1, true)', [SLOT]);

    // Write until every condition but the history database's holds: the slot
    // and the failing archiver keep all WAL, so pg_wal passes the budget.
    const notHistory = rules.filter((r) => r.alert !== 'WalrusHistoryDatabaseDown').map((r) => r.expr);
    let reader = false;
    let left = notHistory;
    for (let round = 0; round < 30 && left.length > 0; round++) {
      if (!reader && watch.on('walrus.decision.nogrant').length > 0) {
        // A durable consumer nobody reads (a reader that stopped): its backlog
        // is there from its first scrape and grows with every decision.
        const jsm = await jetstreamManager(nc);
        await jsm.consumers.add('WALRUS_DECISIONS', {
          durable_name: 'retired-reader',
          filter_subject: 'walrus.decision.>',
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
        });
        reader = true;
      }
      const seen = watch.on('walrus.sample.full').length;
      await writeWal(pgc, { rounds: 2 });
      await waitFor(() => watch.on('walrus.sample.full').length > seen + 1, { what: 'a sample after the writes', timeoutMs: 30_000 });
      left = await missing(left);
    }

    // The ghost has been quiet for a minute and a decider has swept: no_samples fires.
    const noSamples = defined(rules.find((r) => r.alert === 'WalrusNoSamples'), 'WalrusNoSamples').expr;
    await waitFor(async () => hasData(await prom.query(noSamples)), { what: 'the ghost cluster reported without samples', timeoutMs: 150_000 });

    // The history database goes away; the historian's next write (of the
    // decisions the writes bring) fails.
    await pgc.query('ALTER DATABASE history ALLOW_CONNECTIONS false');
    await pgc.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'history'");
    const historyDown = defined(rules.find((r) => r.alert === 'WalrusHistoryDatabaseDown'), 'WalrusHistoryDatabaseDown').expr;
    for (let round = 0; round < 10 && !hasData(await prom.query(historyDown)); round++) {
      const seen = watch.on('walrus.sample.full').length;
      await writeWal(pgc, { rounds: 1 });
      await waitFor(() => watch.on('walrus.sample.full').length > seen + 1, { what: 'a sample after the writes', timeoutMs: 30_000 });
    }
    await waitFor(async () => hasData(await prom.query(historyDown)), { what: 'the history database seen down', timeoutMs: 10_000 });
  }

  it('prometheus queries - the conditions of every alert, brought about for real, match its expression and make it pending or firing', async () => {
    await broughtAbout();
    // All at once, and as the rule engine sees them: loaded, healthy, and not inactive.
    expect(await missing(rules.map((r) => r.expr)), 'alert expressions without data').toEqual([]);
    const loaded = await waitFor(
      async () => {
        const rs = (await prom.rules()).filter((r) => r.type === 'alerting');
        return rs.every((r) => r.state !== 'inactive') ? rs : null;
      },
      { what: 'every alert pending or firing', timeoutMs: 15_000 },
    ).catch(async (err: unknown) => {
      const rs = await prom.rules();
      throw new Error(`${String(err)}\n${rs.filter((r) => r.state === 'inactive').map((r) => `${r.name}: ${r.query}`).join('\n')}`);
    });
    expect(loaded.map((r) => r.name).sort()).toEqual(rules.map((r) => r.alert).sort());
    for (const r of loaded) expect({ name: r.name, health: r.health, lastError: r.lastError ?? '' }).toEqual({ name: r.name, health: 'ok', lastError: '' });

    // What brought them about, seen from walrus's side too.
    const applied = watch.on('walrus.applied.nogrant');
    expect(applied.length).toBeGreaterThan(0);
    expect(applied[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/^missing grant: GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO walrus_nogrant/) });
    expect(watch.on('walrus.applied.full').some((a) => a.status === 'applied')).toBe(true);
    const targets = await prom.targets();
    expect(targets.map((t) => t.health).sort()).toEqual(['down', 'up']);
  });

  it('prometheus queries - every panel of the Grafana dashboards returns data (variables as Grafana substitutes them)', async () => {
    await broughtAbout();
    expect(boards.length).toBeGreaterThan(0);
    for (const board of boards) {
      expect(board.panels.length, board.file).toBeGreaterThan(15);
      // The disk panels are there.
      for (const metric of ['walrus_wal_disk_used_bytes', 'walrus_wal_disk_budget_bytes', 'walrus_slot_retained_bytes', 'walrus_archiver_failing', 'ALERTS']) {
        expect(board.panels.some((p) => p.exprs.some((e) => e.includes(metric))), `${board.file}: a panel on ${metric}`).toBe(true);
      }
      const empty: string[] = [];
      for (const panel of board.panels) {
        for (const raw of panel.exprs) {
          const expr = grafanaExpr(raw, board.variables, INTERVALS);
          if (!hasData(await prom.query(expr))) empty.push(`${panel.title}: ${expr}`);
        }
      }
      expect(empty, `${board.file}: panels without data`).toEqual([]);
      // The cluster variable's own query: label_values(walrus_max_wal_size_bytes, cluster).
      for (const v of board.variables) {
        const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition ?? '');
        const [, match, label] = defined(/^label_values\((.+),\s*(\w+)\)$/.exec(q), `${board.file}: variable ${v.name} as a label_values query`);
        expect(await prom.labelValues(defined(label), defined(match))).toEqual(expect.arrayContaining(['full', 'capped', 'nogrant', 'ghost']));
      }
    }
  });

  it('prometheus queries - promtool check metrics finds nothing in what walrus all serves, every series included', async () => {
    await broughtAbout();
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    // The series of rare events are there (brought about for the alerts).
    for (const series of [
      /^walrus_dead_letters_total\{service="decider",reason="bad JSON"\} 1$/m,
      /^walrus_apply_total\{cluster="nogrant",status="failed",service="all"\} [1-9]/m,
      /^walrus_slot_retained_bytes\{cluster="full",slot="walrus_stuck",service="all"\} [1-9]/m,
      /^walrus_archiver_failing\{cluster="full",service="all"\} 1$/m,
      /^walrus_archiver_backlog_segments\{cluster="full",service="all"\} [1-9]/m,
      /^walrus_wal_disk_forecast_seconds\{cluster="full",service="all"\} \d/m,
      /^walrus_slot_lost\{cluster="lost",slot="walrus_gone",service="all"\} 1$/m,
      /^walrus_cluster_up\{cluster="down",service="all"\} 0$/m,
      /^walrus_sample_errors_total\{cluster="nogrant",stage="disk",service="all"\} [1-9]/m,
    ]) {
      expect(text).toMatch(series);
    }
    const run = promtool(['check', 'metrics'], text);
    expect(`${run.stdout}${run.stderr}`.trim()).toBe('');
    expect(run.status).toBe(0);
  });
});

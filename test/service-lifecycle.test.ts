import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, registerCleanup, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { testDecision } from './harness/messages.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';

// Each service subcommand: validated configuration, connections, /healthz,
// /metrics and /readyz, one "started" line, and a clean stop on a signal.
let nats: NatsServer;
let pg: PostgresCluster;

beforeAll(async () => {
  [nats, pg] = await Promise.all([startNats(), startPostgres({ version: 17 })]);
  await pg.query('CREATE DATABASE history');
});
afterAll(cleanupAll);

function clustersFile(text: string, name = 'clusters.txt'): string {
  const dir = mkdtempSync(join(tmpdir(), 'walrus-clusters-'));
  registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

/** In the history URL (trust authentication accepts and ignores it): must never be printed. */
const HISTORY_PASSWORD = 'hist-Secret-91';
const historyUrl = () => pg.urlFor('history').replace('postgres@', `postgres:${HISTORY_PASSWORD}@`);

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

const envFor = (): Record<string, Record<string, string>> => ({
  collector: { WALRUS_CLUSTERS_FILE: clustersFile(`# the fleet\nc1=${pg.url}\n`), WALRUS_SAMPLE_INTERVAL: '60' },
  decider: {},
  applier: { WALRUS_CLUSTERS: `c1=${pg.url}` },
  // As a Docker or Kubernetes secret: a file, with its trailing newline.
  historian: { HISTORY_DATABASE_URL_FILE: clustersFile(`${historyUrl()}\n`, 'history-url') },
});

describe('services - start, serve health and metrics, stop on a signal', () => {
  it.each([
    ['collector', 'SIGTERM'],
    ['decider', 'SIGINT'],
    ['applier', 'SIGTERM'],
    ['historian', 'SIGINT'],
  ] as const)('%s starts and stops cleanly on %s', async (service, signal) => {
    const p: WalrusProcess = startWalrus([service], { NATS_URL: nats.url, ...envFor()[service] });
    {
      const started = await p.waitForLog((l) => l.msg === 'started', `${service} "started" line`);
      expect(started.services).toEqual([service]);
      const port = started.metricsPort as number;
      if (service === 'collector') await p.waitForLog((l) => l.msg === 'cluster reachable' && l.cluster === 'c1', 'c1 from the clusters file');
      if (service === 'historian') {
        // Connected with the URL from HISTORY_DATABASE_URL_FILE (there is no other), and never printed it.
        expect(p.lines.find((l) => l.msg === 'migrating history schema')).toMatchObject({ database: expect.stringContaining('postgres:***@') });
        expect(p.stdout() + p.stderr()).not.toContain(HISTORY_PASSWORD);
      }
      const health = await get(port, '/healthz');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', services: [{ service }] });
      const metrics = await get(port, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain('walrus_process_resident_memory_bytes{service=');
      expect((await get(port, '/readyz')).status).toBe(200);
      expect((await get(port, '/nope')).status).toBe(404);
      expect(p.lines.filter((l) => l.msg === 'started')).toHaveLength(1);
    }
    p.signal(signal);
    expect(await p.exited).toBe(0);
    expect(p.lines.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('a second signal forces the exit while a graceful stop waits for the message in hand', async () => {
    const p = startWalrus(['historian'], { NATS_URL: nats.url, HISTORY_DATABASE_URL: historyUrl(), SHUTDOWN_TIMEOUT_SEC: '600' });
    await p.waitForLog((l) => l.msg === 'started', 'started');
    // Hold walrus.history: the historian's insert of the next decision waits for the lock.
    const blocker = await pg.connect({ database: 'history' });
    const nc = await connect({ servers: nats.url, name: 'second-signal' });
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE walrus.history IN ACCESS EXCLUSIVE MODE');
      await jetstream(nc).publish('walrus.decision.sig', JSON.stringify(testDecision('sig')));
      await waitFor(
        async () =>
          (await pg.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'walrus-historian' AND wait_event_type = 'Lock'", [], { database: 'history' })).length > 0 || null,
        { what: 'the historian waiting for the lock with a decision in hand', timeoutMs: 20_000 },
      );
      p.signal('SIGTERM');
      await p.waitForLog((l) => l.msg === 'stopping', 'the graceful stop begun');
      // The graceful stop waits for the message in hand, which waits for the lock (and the timeout is 10 minutes).
      p.signal('SIGINT');
      expect(await p.exited).toBe(1);
      expect(p.lines.find((l) => l.msg === 'second signal: exiting now')).toMatchObject({ signal: 'SIGINT' });
      expect(p.lines.some((l) => l.msg === 'stopped' || l.msg === 'graceful stop timed out: exiting')).toBe(false);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
      await nc.close();
    }
  });

  it('stops promptly on SIGTERM while NATS is away', async () => {
    const gone = await startNats();
    const p = startWalrus(['decider'], { NATS_URL: gone.url, SHUTDOWN_TIMEOUT_SEC: '30' });
    await p.waitForLog((l) => l.msg === 'started', 'started');
    await gone.kill();
    await p.waitForLog((l) => l.msg === 'NATS connection lost; reconnecting', 'the lost connection noticed');
    p.signal('SIGTERM');
    // Exit 0 (a clean stop), not the shutdown timeout's exit 1 after 30 s.
    expect(await p.exited).toBe(0);
    expect(p.lines.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('waits for NATS that is not up yet, then starts', async () => {
    const late = await startNats();
    await late.stop();
    const p = startWalrus(['decider'], { NATS_URL: late.url });
    await p.waitForLog((l) => l.msg === 'connecting to NATS', 'connecting line');
    await late.restart();
    await p.waitForLog((l) => l.msg === 'started', 'started after NATS came up', 60_000);
    expect(await p.stop()).toBe(0);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, registerCleanup, startNats, startPostgres, type NatsServer, type PostgresCluster } from './harness/mod.js';
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

function clustersFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'walrus-clusters-'));
  registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'clusters.txt');
  writeFileSync(file, text);
  return file;
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

const envFor = (): Record<string, Record<string, string>> => ({
  collector: { WALRUS_CLUSTERS_FILE: clustersFile(`# the fleet\nc1=${pg.url}\n`), WALRUS_SAMPLE_INTERVAL: '60' },
  decider: {},
  applier: { WALRUS_CLUSTERS: `c1=${pg.url}` },
  historian: { HISTORY_DATABASE_URL: pg.urlFor('history') },
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

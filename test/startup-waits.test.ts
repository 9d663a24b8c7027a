import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { sampleMsgId, sampleSubject, type Decision, type Sample } from '@walrus/core';
import { sampleWith } from '@walrus/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { printLogsOnFailure } from './harness/failure-logs.js';
import { cleanupAll, freePort, startNats, startPostgres, waitFor } from './harness/mod.js';
import { startWalrus, type LogLine, type WalrusProcess } from './harness/walrus-process.js';
import { storedMessages } from './faults/stream.js';
import { defined } from './harness/defined.js';

// Any start order works: a service that comes up before NATS, JetStream or
// its database waits for them (saying so once, and on /readyz), then starts.
afterAll(cleanupAll);

const WAITING = 'waiting for a dependency; retrying with backoff';
const AVAILABLE = 'dependency available; going on';
const SERVING = 'serving /healthz, /readyz and /metrics';

interface Readyz {
  ready: boolean;
  starting?: boolean;
  waiting?: Array<{ for: string; reason: string; since: string; attempts: number }>;
}

async function getJson<T>(port: number, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

async function metricsPort(p: WalrusProcess): Promise<number> {
  return (await p.waitForLog((l) => l.msg === SERVING, 'the HTTP server up')).metricsPort as number;
}

/** Each wait is logged once when it begins, not once per retry. */
function waitLinesPerDependency(lines: LogLine[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines.filter((x) => x.msg === WAITING)) out[String(l.waitingFor)] = (out[String(l.waitingFor)] ?? 0) + 1;
  return out;
}

// In the past: deciders refuse samples dated ahead of their clock (WALRUS_MAX_CLOCK_SKEW_SEC).
const T0 = Date.now() - 3_600_000;
function sample(cluster: string, minute: number, requested: number): Sample {
  const collected_at = new Date(T0 + minute * 60_000).toISOString();
  return sampleWith({ cluster, collected_at, checkpoints_requested: requested, checkpoints_timed: minute, wal_lsn: '0/1000000', wal_bytes: 16777216, max_wal_size_mb: 256 });
}

describe('start-up - services wait for what they need instead of exiting', () => {
  it('a decider started before any NATS server exists: not ready and why, then ready and deciding once NATS is there', async () => {
    const port = await freePort();
    const procs: Record<string, WalrusProcess> = {};
    printLogsOnFailure(() => procs);
    const p = (procs.decider = startWalrus(['decider'], { NATS_URL: `nats://127.0.0.1:${port}`, WALRUS_THRESHOLD: '2', WALRUS_MAX: '4GB' }));
    const http = await metricsPort(p);
    await p.waitForLog((l) => l.msg === WAITING && l.waitingFor === 'NATS', 'the wait for NATS');

    const waiting = await getJson<Readyz>(http, '/readyz');
    expect(waiting.status).toBe(503);
    expect(waiting.body).toMatchObject({ ready: false, starting: true, waiting: [{ for: 'NATS' }] });
    expect(waiting.body.waiting?.[0]?.reason).toMatch(/ECONNREFUSED/);
    // Alive all along: a restart would not bring NATS sooner.
    expect((await getJson<{ status: string; starting: boolean }>(http, '/healthz')).body).toMatchObject({ status: 'ok', starting: true });

    const nats = await startNats({ port });
    await p.waitForLog((l) => l.msg === 'started', 'started once NATS is there', 60_000);
    expect(await getJson<Readyz>(http, '/readyz')).toEqual({ status: 200, body: { ready: true } });
    expect(waitLinesPerDependency(p.lines)).toEqual({ NATS: 1 });
    expect(p.lines.filter((l) => l.msg === AVAILABLE && l.waitedFor === 'NATS')).toHaveLength(1);

    // It works: a baseline, then three forced checkpoints (threshold 2) grow 256 MB to 1024 MB.
    const nc = await connect({ servers: nats.url, name: 'startup-test' });
    try {
      const js = jetstream(nc);
      for (const s of [sample('early', 0, 10), sample('early', 5, 13)]) {
        await js.publish(sampleSubject(s.cluster), JSON.stringify(s), { msgID: sampleMsgId(s.cluster, s.collected_at) });
      }
      const [stored] = await waitFor(
        async () => {
          const d = await storedMessages<Decision>(nc, 'WALRUS_DECISIONS', 'walrus.decision.early');
          return d.length > 0 ? d : null;
        },
        { what: 'the decision on WALRUS_DECISIONS', timeoutMs: 30_000 },
      );
      expect(stored?.data).toMatchObject({ cluster: 'early', action: 'increase', old_size_mb: 256, new_size_mb: 1024, forced_checkpoints: 3 });
    } finally {
      await nc.close();
    }
    expect(await p.stop()).toBe(0);
  });

  it('a SIGTERM while waiting for NATS stops at once: exit 0', async () => {
    const procs: Record<string, WalrusProcess> = {};
    printLogsOnFailure(() => procs);
    // A graceful-stop timeout far beyond the test's: only a prompt stop exits 0 in time.
    const p = (procs.decider = startWalrus(['decider'], { NATS_URL: `nats://127.0.0.1:${await freePort()}`, SHUTDOWN_TIMEOUT_SEC: '600' }));
    await p.waitForLog((l) => l.msg === WAITING && l.waitingFor === 'NATS', 'the wait for NATS');
    p.signal('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.lines.some((l) => l.msg === 'stopped before start-up completed')).toBe(true);
    expect(p.lines.some((l) => l.msg === 'started')).toBe(false);
  });

  it('the historian waits for a history database that is not up yet, then migrates and starts', async () => {
    const [nats, pg] = await Promise.all([startNats(), startPostgres({ version: 17 })]);
    await pg.query('CREATE DATABASE history');
    await pg.stop();
    const procs: Record<string, WalrusProcess> = {};
    printLogsOnFailure(() => procs);
    const p = (procs.historian = startWalrus(['historian'], { NATS_URL: nats.url, HISTORY_DATABASE_URL: pg.urlFor('history') }));
    const http = await metricsPort(p);
    await p.waitForLog((l) => l.msg === WAITING && l.waitingFor === 'history database', 'the wait for the database', 60_000);
    const waiting = await getJson<Readyz>(http, '/readyz');
    expect(waiting).toMatchObject({ status: 503, body: { ready: false, waiting: [{ for: 'history database' }] } });
    expect(waiting.body.waiting?.[0]?.reason).toMatch(/ECONNREFUSED/);

    await pg.restart();
    await p.waitForLog((l) => l.msg === 'started', 'started once the database is there', 60_000);
    const applied = await pg.query<{ n: string }>('SELECT count(*) AS n FROM walrus.migrations', [], { database: 'history' });
    expect(Number(defined(applied[0]).n)).toBeGreaterThan(0);
    expect(await getJson<Readyz>(http, '/readyz')).toEqual({ status: 200, body: { ready: true } });
    expect(waitLinesPerDependency(p.lines)).toEqual({ 'history database': 1 });
    expect(await p.stop()).toBe(0);
  });

  it('monitored clusters that refuse or never answer hold nothing back: walrus all starts and is ready', async () => {
    // A "server" that accepts connections and never answers, with a connect
    // timeout longer than the test: any start-up step that waited on it
    // (the applier's role check included) would keep "started" from coming.
    const sockets = new Set<Socket>();
    const blackHole = createServer((sock) => void sockets.add(sock));
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    try {
      const [nats, pg] = await Promise.all([startNats(), startPostgres({ version: 17 })]);
      await pg.query('CREATE DATABASE history');
      const hung = `postgres://walrus@127.0.0.1:${(blackHole.address() as AddressInfo).port}/postgres`;
      const dead = `postgres://walrus@127.0.0.1:${await freePort()}/postgres`;
      const procs: Record<string, WalrusProcess> = {};
      printLogsOnFailure(() => procs);
      const p = (procs.all = startWalrus(['all'], {
        NATS_URL: nats.url,
        HISTORY_DATABASE_URL: pg.urlFor('history'),
        WALRUS_CLUSTERS: `hung=${hung},dead=${dead}`,
        WALRUS_CONNECT_TIMEOUT_SEC: '300',
        WALRUS_SAMPLE_INTERVAL: '1',
      }));
      const http = await metricsPort(p);
      await p.waitForLog((l) => l.msg === 'started', 'walrus all started');
      expect(await getJson<Readyz>(http, '/readyz')).toEqual({ status: 200, body: { ready: true } });
      // Both were tried meanwhile: the black hole holds connections, the dead one is reported down.
      await waitFor(() => sockets.size > 0 || null, { what: 'a connection to the black hole', timeoutMs: 15_000 });
      await p.waitForLog((l) => l.msg === 'cluster unreachable; retrying with backoff' && l.cluster === 'dead', 'the dead cluster reported');
      expect(await p.stop()).toBe(0);
    } finally {
      for (const sock of sockets) sock.destroy();
      blackHole.close();
    }
  });

  it('what NATS refuses as configured is a configuration error: exit 2, naming what to check', async () => {
    const nats = await startNats();
    const procs: Record<string, WalrusProcess> = {};
    printLogsOnFailure(() => procs);
    // Three replicas asked of a single server: no amount of waiting helps.
    const p = (procs.decider = startWalrus(['decider'], { NATS_URL: nats.url, WALRUS_JS_REPLICAS: '3' }));
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain('invalid configuration');
    expect(p.stderr()).toContain('WALRUS_JS_REPLICAS');
    expect(p.stderr()).toMatch(/replicas > 1 not supported in non-clustered mode \(status 500, err_code 10074\)/);
  });
});

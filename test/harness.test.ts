import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, freePort, registerCleanup, startNats, startPostgres, waitFor, WaitTimeoutError } from './harness/mod.js';
import { processGone } from './harness/process.js';
import { subjectsOverlap, waitAcknowledged, waitSettled } from './harness/consumers.js';
import { spawn } from 'node:child_process';
import { diesWithParent, removeStaleTempRoots } from '@walrus/servers';
import { defined } from './harness/defined.js';

afterAll(cleanupAll);

describe('harness - postgres', () => {
  it('harness - kill() then restart() recovers a crashed cluster with its data', async () => {
    const pg = await startPostgres({ version: 17, config: { max_wal_size: '32MB' } });
    await pg.query('CREATE TABLE kept (id int PRIMARY KEY)');
    await pg.query('INSERT INTO kept SELECT generate_series(1, 100)');
    const [before] = await pg.query<{ stats_reset: Date }>('SELECT stats_reset FROM pg_stat_checkpointer');
    const client = await pg.connect();
    const postmaster = pg.pid;
    expect(postmaster).toBeTypeOf('number');

    await pg.kill();
    expect(pg.running).toBe(false);
    expect(processGone(postmaster ?? -1)).toBe(true);
    // The held session is gone with the server, without crashing the test process.
    await expect(client.query('SELECT 1')).rejects.toThrow();
    expect(existsSync(`${pg.dataDir}/postmaster.pid`)).toBe(true);

    await pg.restart();
    const [row] = await pg.query<{ n: string }>('SELECT count(*) AS n FROM kept');
    expect(row?.n).toBe('100');
    expect(await pg.log()).toMatch(/database system was interrupted|was not properly shut down/);
    // Crash recovery resets the cumulative statistics (POSTGRES-NOTES "Counters by version").
    const [after] = await pg.query<{ stats_reset: Date }>('SELECT stats_reset FROM pg_stat_checkpointer');
    expect(after?.stats_reset.getTime()).toBeGreaterThan(before?.stats_reset.getTime() ?? Infinity);

    const port = pg.port;
    await pg.restart(); // from running: fast shutdown, then start
    expect(pg.port).toBe(port);
    expect((await pg.query<{ n: string }>('SELECT count(*) AS n FROM kept'))[0]?.n).toBe('100');

    const { baseDir } = pg;
    const pid = pg.pid ?? -1;
    await pg.cleanup();
    expect(processGone(pid)).toBe(true);
    expect(existsSync(baseDir)).toBe(false);
    await pg.cleanup(); // idempotent
  });
});

describe('harness - nats', () => {
  it('harness - kill() then restart() keeps a JetStream stream and its messages', async () => {
    const nats = await startNats();
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    expect((await fetch(`${nats.monitorUrl}/healthz`)).ok).toBe(true);

    let nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'HARNESS', subjects: ['harness.>'] });
    const js = jetstream(nc);
    for (let i = 0; i < 5; i++) await js.publish('harness.x', `m${i}`);
    await nc.close();

    const port = nats.port;
    await nats.kill();
    expect(nats.running).toBe(false);
    await nats.restart();
    expect(nats.port).toBe(port);

    nc = await connect({ servers: nats.url });
    try {
      const info = await (await jetstreamManager(nc)).streams.info('HARNESS');
      expect(info.state.messages).toBe(5);
    } finally {
      await nc.close();
    }

    const { dir } = nats;
    await nats.cleanup();
    expect(existsSync(dir)).toBe(false);
  });

  it('harness - extra config text is applied (authorization)', async () => {
    const nats = await startNats({ config: 'authorization { user: walrus, password: s3cret }\n' });
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/Authorization/i);
    const nc = await connect({ servers: nats.url, user: 'walrus', pass: 's3cret' });
    await nc.close();
    await nats.cleanup();
  });
});

describe('harness - helpers', () => {
  it('harness - a process started through diesWithParent is killed when its parent is SIGKILLed', async () => {
    // An intermediate parent starts `sleep 300` the way the harness starts servers
    // and walrus processes, prints its pid, and is then killed with SIGKILL.
    const cmd = diesWithParent('/bin/sleep', ['300']);
    const parent = spawn(process.execPath, ['-e', `const c = require('node:child_process').spawn(${JSON.stringify(cmd.command)}, ${JSON.stringify(cmd.args)}, { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const childPid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    expect(processGone(childPid)).toBe(false);
    parent.kill('SIGKILL');
    await waitFor(() => processGone(childPid) || null, { what: 'the child to die with its parent', timeoutMs: 10_000, intervalMs: 50 });
  });

  it('harness - waitFor names what it waited for on timeout', async () => {
    await expect(waitFor(() => false, { what: 'the impossible', timeoutMs: 150, intervalMs: 20 })).rejects.toThrow(
      /timed out after 150 ms waiting for the impossible/,
    );
    await expect(waitFor(() => false, { what: 'x', timeoutMs: 50 })).rejects.toBeInstanceOf(WaitTimeoutError);
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : 0), { what: 'three polls', intervalMs: 1 })).toBe(3);
  });

  it('harness - freePort never hands out the same port twice', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
    for (const p of ports) expect(p).not.toBe(5432);
  });

  it('harness - the temporary roots of killed runs are removed, those of live processes and fresh unowned ones are kept', async () => {
    const base = mkdtempSync(join(tmpdir(), 'walrus-sweep-'));
    registerCleanup(() => rmSync(base, { recursive: true, force: true }));
    const gone = spawn('/bin/true');
    await new Promise((r) => gone.once('exit', r));
    const root = (name: string, owner?: number) => {
      mkdirSync(join(base, name, 'pg17-x', 'data'), { recursive: true });
      if (owner !== undefined) writeFileSync(join(base, name, 'owner.pid'), String(owner));
    };
    root('walrus-test-dead', gone.pid);
    root('walrus-test-live', process.pid);
    root('walrus-test-unowned');
    root('other-dead', gone.pid);
    expect(removeStaleTempRoots('walrus-test-', [base])).toEqual([join(base, 'walrus-test-dead')]);
    expect(readdirSync(base).sort()).toEqual(['other-dead', 'walrus-test-live', 'walrus-test-unowned']);
  });

  it('harness - freePort leases ports below the kernel ephemeral range, one file per port with our pid', async () => {
    // The kernel gives ports of that range to any connection or port-0 listen
    // on the machine; a server's port (kept while it restarts) must not be one.
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const port = await freePort();
    expect(port).toBeLessThan(defined(low, 'the low end of ip_local_port_range'));
    expect(readFileSync(join(tmpdir(), 'walrus-ports', String(port)), 'utf8')).toBe(String(process.pid));
  });
});

describe('harness - what the consumers of a stream have acknowledged', () => {
  it('harness - subjects overlap as NATS matches them', () => {
    expect(subjectsOverlap('walrus.decision.a', 'walrus.decision.a')).toBe(true);
    expect(subjectsOverlap('walrus.decision.a', 'walrus.decision.b')).toBe(false);
    expect(subjectsOverlap('walrus.decision.>', 'walrus.decision.a')).toBe(true);
    expect(subjectsOverlap('walrus.sample.>', 'walrus.sample.>')).toBe(true);
    expect(subjectsOverlap('walrus.*.a', 'walrus.decision.a')).toBe(true);
    expect(subjectsOverlap('walrus.*.a', 'walrus.decision.b')).toBe(false);
    expect(subjectsOverlap('walrus.decision', 'walrus.decision.a')).toBe(false);
    expect(subjectsOverlap('walrus.decision.>', 'walrus.decision')).toBe(false);
  });

  it('harness - waitSettled and waitAcknowledged wait for the acknowledgements, and give up while a message is unacknowledged', async () => {
    const nats = await startNats();
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'ACKS', subjects: ['acks.>'] });
      await jsm.consumers.add('ACKS', { durable_name: 'reader', filter_subject: 'acks.a', ack_policy: AckPolicy.Explicit });
      const js = jetstream(nc);
      const first = await js.publish('acks.a', 'one');
      await js.publish('acks.b', 'not for the reader');
      const second = await js.publish('acks.a', 'two');
      const pending = { what: 'the reader done', timeoutMs: 1500 };
      await expect(waitSettled(nc, 'ACKS', 'acks.a', pending)).rejects.toThrow(WaitTimeoutError);
      const consumer = await js.consumers.get('ACKS', 'reader');
      const m1 = defined(await consumer.next({ expires: 5000 }), 'the first message');
      // Delivered, not acknowledged: still in hand.
      await expect(waitAcknowledged(nc, 'ACKS', 'acks.a', first.seq, pending)).rejects.toThrow(WaitTimeoutError);
      await m1.ackAck();
      await waitAcknowledged(nc, 'ACKS', 'acks.a', first.seq, { what: 'the first acknowledged', timeoutMs: 10_000 });
      await expect(waitAcknowledged(nc, 'ACKS', 'acks.a', second.seq, pending)).rejects.toThrow(WaitTimeoutError);
      await expect(waitSettled(nc, 'ACKS', 'acks.a', pending)).rejects.toThrow(WaitTimeoutError);
      await defined(await consumer.next({ expires: 5000 }), 'the second message').ackAck();
      await waitAcknowledged(nc, 'ACKS', 'acks.a', second.seq, { what: 'the second acknowledged', timeoutMs: 10_000 });
      await waitSettled(nc, 'ACKS', 'acks.a', { what: 'the reader done', timeoutMs: 10_000 });
      // No consumer receives acks.c: nothing to wait for is no proof either.
      await expect(waitSettled(nc, 'ACKS', 'acks.c', pending)).rejects.toThrow(WaitTimeoutError);
    } finally {
      await nc.close();
    }
  });
});

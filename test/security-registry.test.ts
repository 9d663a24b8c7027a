/**
 * The registry deployment `walrus nats-config` generates without a cluster
 * list, run for real: collectors and appliers each with a restricted user
 * follow walrus_clusters and serve what it holds, the control service alone
 * writes it, and the server itself refuses a collector's (or an applier's)
 * write to it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { WALRUS_BIN } from '@walrus/cli/launch';
import { runControlCommand, type Output } from '@walrus/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defined } from './harness/defined.js';
import { connectAs, readUserEnvFiles } from './harness/nats-users.js';
import { maxWalSizeMb } from './harness/load.js';
import { testDecision } from './harness/messages.js';
import { cleanupAll, registerCleanup, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';

let nats: NatsServer;
let pgc: PostgresCluster;
let creds: Record<string, Record<string, string>>;
const procs: WalrusProcess[] = [];
const opened: NatsConnection[] = [];


async function as(user: string): Promise<NatsConnection> {
  const nc = await connectAs(nats.url, creds, user);
  opened.push(nc);
  return nc;
}

/** The server's own refusal of a publish on `subject`, which nats.js gives the request at once (a timeout does not match). */
function refused(subject: string): RegExp {
  return new RegExp(`^Permissions Violation for Publish to "${subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`);
}

const run = (service: string, user: string, extra: Record<string, string> = {}) => {
  const p = startWalrus([service], { NATS_URL: nats.url, ...defined(creds[user]), ...extra });
  procs.push(p);
  return p;
};

beforeAll(async () => {
  [nats, pgc] = await Promise.all([startNats(), startPostgres({ version: 17, config: { max_wal_size: '64MB' } })]);
  const dir = mkdtempSync(join(tmpdir(), 'walrus-test-registry-auth-'));
  registerCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  // No WALRUS_CLUSTERS: the registry form.
  execFileSync(process.execPath, [WALRUS_BIN, 'nats-config', '--collectors', '2', '--appliers', '2', '--admin', '--out', dir], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  });
  creds = readUserEnvFiles(dir);
  await nats.cleanup();
  nats = await startNats({ config: readFileSync(join(dir, 'nats-auth.conf'), 'utf8') });
  const started = (p: WalrusProcess, what: string) => p.waitForLog((l) => l.msg === 'started', what, 60_000);
  // The control user may create no stream but its bucket: the services that write the streams create them first.
  await Promise.all([
    started(run('collector', 'walrus-collector-1', { WALRUS_SAMPLE_INTERVAL: '1', WALRUS_LEASE_SEC: '3' }), 'collector 1 started'),
    started(run('collector', 'walrus-collector-2', { WALRUS_SAMPLE_INTERVAL: '1', WALRUS_LEASE_SEC: '3' }), 'collector 2 started'),
    started(run('applier', 'walrus-applier-1'), 'applier 1 started'),
    started(run('applier', 'walrus-applier-2'), 'applier 2 started'),
  ]);
  await started(run('control', 'walrus-control', { WALRUS_PAGE: 'false' }), 'the control service started');
}, 180_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await Promise.all(opened.map((nc) => nc.close().catch(() => undefined)));
  await cleanupAll();
});

describe('security - the registry under walrus nats-config', () => {
  it('a cluster registered by the CLI user (through the control service) is sampled and its decisions applied, under the narrowed users', async () => {
    const c = defined(creds['walrus-cli']);
    let err = '';
    const o: Output = { out: () => undefined, err: (t) => void (err += t) };
    const env = { NATS_URL: nats.url, NATS_USER: defined(c.NATS_USER), NATS_PASSWORD: defined(c.NATS_PASSWORD), NATS_INBOX_PREFIX: defined(c.NATS_INBOX_PREFIX) };
    expect(await runControlCommand('clusters', ['add', 'reg-a', pgc.url], env, o), err).toBe(0);
    const alerts = await as('walrus-alerts');
    const seen: Array<Record<string, unknown>> = [];
    const sub = alerts.subscribe('walrus.applied.reg-a', { callback: (_e, m) => void seen.push(m.json()) });
    await alerts.flush();
    const admin = await as('walrus-admin');
    const jsm = await jetstreamManager(admin);
    await waitFor(async () => ((await jsm.streams.info('WALRUS_SAMPLES', { subjects_filter: 'walrus.sample.reg-a' })).state.subjects?.['walrus.sample.reg-a'] ?? 0) >= 2 || null, {
      what: 'samples of the registered cluster',
    });
    const d = testDecision('reg-a', { old_size_mb: 64, new_size_mb: 96 });
    await jetstream(admin).publish('walrus.decision.reg-a', JSON.stringify(d));
    await waitFor(() => seen.find((r) => r.decision_id === d.id && r.status === 'applied'), { what: 'the decision applied by an applier of the registry' });
    expect(await maxWalSizeMb(pgc)).toBe(96);
    sub.unsubscribe();
    // Under their own users the services met no permission they lack.
    const violations = (await nats.log()).split('\n').filter((l) => /nats\.js:walrus-[a-z]+" - \w+ Violation/.test(l));
    expect(violations).toEqual([]);
  }, 120_000);

  it("refuses a collector's and an applier's write to the registry: the server's own violation for each subject, and nothing stored", async () => {
    for (const user of ['walrus-collector-1', 'walrus-applier-2']) {
      const nc = await as(user);
      const js = jetstream(nc, { timeout: 10_000 });
      const forged = JSON.stringify({ v: 1, url: 'postgres://evil@attacker/db' });
      await expect(js.publish('$KV.walrus_clusters.forged', forged)).rejects.toThrow(refused('$KV.walrus_clusters.forged'));
      const kv = await new Kvm(nc).open('walrus_clusters');
      await expect(kv.put('forged', forged)).rejects.toThrow(refused('$KV.walrus_clusters.forged'));
      await expect(kv.delete('reg-a')).rejects.toThrow(refused('$KV.walrus_clusters.reg-a'));
      await expect((await jetstreamManager(nc, { timeout: 10_000 })).streams.purge('KV_walrus_clusters')).rejects.toThrow(refused('$JS.API.STREAM.PURGE.KV_walrus_clusters'));
    }
    const log = await nats.log();
    for (const user of ['walrus-collector-1', 'walrus-applier-2']) {
      for (const subject of ['\\$KV\\.walrus_clusters\\.forged', '\\$KV\\.walrus_clusters\\.reg-a', '\\$JS\\.API\\.STREAM\\.PURGE\\.KV_walrus_clusters']) {
        expect(log).toMatch(new RegExp(`Publish Violation - User "${user}", Subject "${subject}"`));
      }
    }
    const admin = await new Kvm(await as('walrus-admin')).open('walrus_clusters');
    expect(await admin.get('forged')).toBeNull();
    expect(defined(await admin.get('reg-a')).operation).toBe('PUT');
  }, 60_000);
});

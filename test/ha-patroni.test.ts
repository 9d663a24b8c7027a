import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { decider } from '@walrus/decider';
import { historian } from '@walrus/historian';
import type { ApplyResult, Decision, Sample } from '@walrus/core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { storedMessages } from './faults/stream.js';
import { startInProcess, type InProcessService } from './harness/in-process.js';
import { prepareLeaderLoad, startLeaderLoad, type LeaderLoad } from './harness/leader-load.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startPatroniCluster, type PatroniCluster, type PatroniMember } from './harness/patroni.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

// walrus on a real Patroni cluster (Debian's patroni 3.0, two members over a
// one-node etcd), under write load that follows the leader: the size goes to
// every member through PATCH /config; after a switchover and after a kill -9
// failover the new primary has the learned size at walrus's first sample of
// it, and walrus goes on tuning it; no decision is lost or doubled. One
// cluster and one walrus for the whole file; the tests run in order.

const ID = 'ha-patroni';
let cluster: PatroniCluster;
let nats: NatsServer;
let history: PostgresCluster;
let watch: SubjectWatch;
let load: LeaderLoad;
const services: InProcessService[] = [];
/** walrus's member names: host:port as Patroni reports them. */
const nameOf = (m: PatroniMember) => `127.0.0.1:${m.port}`;

beforeAll(async () => {
  [cluster, nats, history] = await Promise.all([
    // A replica under this write load lags by more than the harness's 16 MB at times: it must stay a failover candidate.
    startPatroniCluster({ dcs: { maximum_lag_on_failover: 1024 * 1024 * 1024 } }),
    startNats(),
    startPostgres({ version: 17 }),
  ]);
  watch = await SubjectWatch.open(nats.url, ['walrus.decision.>', 'walrus.applied.>']);
  const leader = await cluster.waitForLeader();
  // A stale ALTER SYSTEM value on the replica: it would shadow PATCH /config there unless walrus resets it.
  const replica = defined(cluster.nodes.find((m) => m !== leader));
  await replica.query("ALTER SYSTEM SET max_wal_size = '32MB'", [], 'walrus');
  await replica.query('SELECT pg_reload_conf()', [], 'walrus');
  await prepareLeaderLoad(leader.superuserUrl);

  const { username, password } = cluster.restapiAuth;
  const apis = cluster.nodes.map((m) => m.apiUrl).join(',');
  // Only the first member is listed: the others come from Patroni's GET /cluster.
  const first = defined(cluster.nodes[0]);
  const url =
    `postgres://walrus:${encodeURIComponent(cluster.credentials.walrus.password)}@127.0.0.1:${first.port}/postgres` +
    `?walrus_apply=patroni&walrus_members=patroni&walrus_patroni_url=${encodeURIComponent(apis)}` +
    `&walrus_patroni_user=${username}&walrus_patroni_password=${encodeURIComponent(password)}`;
  const env = {
    WALRUS_CLUSTERS: `${ID}=${url}`,
    HISTORY_DATABASE_URL: history.url,
    WALRUS_SAMPLE_INTERVAL: '1',
    WALRUS_THRESHOLD: '1',
    WALRUS_COOLDOWN_SEC: '0',
    WALRUS_MAX_CHANGES_PER_HOUR: '1000',
    WALRUS_SHRINK_ENABLE: 'off',
    WALRUS_MAX: '1GB',
    WALRUS_CONNECT_TIMEOUT_SEC: '2',
  };
  for (const def of [historian, decider, applier, collector] as const) {
    services.push(await startInProcess(def as Parameters<typeof startInProcess>[0], env, nats.url));
  }
  const { superuser } = cluster.credentials;
  load = startLeaderLoad(
    `postgresql://${superuser.username}:${encodeURIComponent(superuser.password)}@${cluster.nodes.map((m) => `127.0.0.1:${m.port}`).join(',')}/postgres?target_session_attrs=read-write`,
  );
}, 180_000);

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`Patroni cluster logs after "${ctx.task.name}":\n${await cluster.logs(60)}`);
});

afterAll(async () => {
  await load?.stop();
  await Promise.all(services.splice(0).map((s) => s.stop()));
  await watch?.close();
  await cleanupAll();
});

const decisions = () => watch.on(`walrus.decision.${ID}`) as unknown as Decision[];
const results = () => watch.on(`walrus.applied.${ID}`) as unknown as ApplyResult[];

async function maxWalSize(m: PatroniMember): Promise<string> {
  return defined((await m.query<{ v: string }>('SELECT current_setting($1) AS v', ['max_wal_size']))[0]).v;
}

/** walrus.max for the whole cluster, through Patroni's dynamic configuration. */
async function setWalrusMax(value: string): Promise<void> {
  await cluster.patchConfigAndWait({ postgresql: { parameters: { 'walrus.max': value } } });
}

/** The growth of the cluster to `mb`, decided on `primary` and applied. */
async function growthTo(mb: number, primary: PatroniMember): Promise<ApplyResult> {
  const r = (await watch.next(
    `walrus.applied.${ID}`,
    (x) => x['status'] === 'applied' && x['max_wal_size_mb'] === mb,
    `a growth to ${mb} MB applied`,
    90_000,
  )) as unknown as ApplyResult;
  expect(r.member).toBe(nameOf(primary));
  expect(decisions().find((d) => d.id === r.decision_id)?.metadata).toMatchObject({ primary_member: nameOf(primary) });
  return r;
}

/** walrus's first sample of `member` as a primary, from the stream. */
async function firstPrimarySample(member: PatroniMember, after: string): Promise<Sample> {
  return waitFor(
    async () =>
      (await storedMessages<Sample>(defined(services[0]).nc, 'WALRUS_SAMPLES', `walrus.sample.${ID}`))
        .map((m) => m.data)
        .find((s) => s.member === nameOf(member) && !s.in_recovery && s.collected_at > after),
    { what: `walrus's first sample of ${member.name} as the primary`, timeoutMs: 30_000 },
  );
}

describe('high availability - a real Patroni cluster', () => {
  test('growth under write load reaches both members through PATCH /config, after resetting ALTER SYSTEM on each', async () => {
    const leader = await cluster.waitForLeader();
    await setWalrusMax('64MB');
    const r = await growthTo(64, leader);
    expect(r.failed_members).toEqual([]);
    expect(r.members?.map((m) => [m.member, m.role, m.status, m.max_wal_size_mb]).sort()).toEqual(
      cluster.nodes.map((m) => [nameOf(m), m === leader ? 'primary' : 'standby', 'applied', 64]).sort(),
    );
    for (const m of cluster.nodes) {
      expect(await maxWalSize(m)).toBe('64MB');
      // Nothing left in postgresql.auto.conf to shadow Patroni's value.
      expect(await m.query("SELECT 1 FROM pg_file_settings WHERE name = 'max_wal_size' AND sourcefile LIKE '%postgresql.auto.conf'")).toEqual([]);
    }
    expect(await cluster.config()).toMatchObject({ postgresql: { parameters: { max_wal_size: '64MB' } } });
    // Both members were found through Patroni and are sampled.
    await waitFor(() => cluster.nodes.every((m) => watch.messages.length > 0 && defined(services[3]).lines.some((l) => l.msg === 'cluster reachable' && l['member'] === nameOf(m))), {
      what: 'both members sampled',
      timeoutMs: 10_000,
    });
  });

  test('patronictl switchover under write load: the new primary has the learned size at walrus first sample of it, and walrus tunes it', async () => {
    const before = new Date().toISOString();
    const { to } = await cluster.switchover();
    const first = await firstPrimarySample(to, before);
    expect(first.max_wal_size_mb).toBe(64);
    await waitFor(() => defined(services[1]).lines.some((l) => l.outcome === 'failover' && l['member'] === nameOf(to)), {
      what: 'the decider to see the change of primary',
      timeoutMs: 10_000,
    });
    // The old primary restarts as a replica (a member unreachable meanwhile is listed as failed): wait for it.
    await cluster.waitForMembersStreaming();
    await setWalrusMax('128MB');
    const r = await growthTo(128, to);
    expect(r.failed_members).toEqual([]);
  });

  test('kill -9 of the primary postmaster under write load: the promoted replica has the learned size, walrus tunes it, the old primary gets it back', async () => {
    // A replica that is not streaming is no failover candidate: Patroni would restart the primary in place.
    await cluster.waitForMembersStreaming();
    const before = new Date().toISOString();
    const { member: old } = await cluster.killPrimaryPostmaster();
    const now = await cluster.waitForLeader({ not: old });
    const first = await firstPrimarySample(now, before);
    expect(first.max_wal_size_mb).toBe(128);
    expect(first.timeline).toBeGreaterThan(1);
    await setWalrusMax('256MB');
    await growthTo(256, now);
    await cluster.waitForMembersStreaming();
    // PATCH /config is the cluster's: the old primary, back as a replica, runs the size too.
    await waitFor(async () => (await maxWalSize(old)) === '256MB', { what: 'the old primary at 256MB', timeoutMs: 30_000 });
  });

  test('no decision lost or doubled: the stream, the outcomes and the history agree', async () => {
    await load.stop();
    expect(load.transactions).toBeGreaterThan(0);
    expect(load.failedRuns).toBeGreaterThan(0); // the failovers did interrupt the load
    const stored = (await storedMessages<Decision>(defined(services[0]).nc, 'WALRUS_DECISIONS', `walrus.decision.${ID}`)).map((m) => m.data);
    const ids = stored.map((d) => d.id);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ids).size).toBe(ids.length);
    const executable = stored.filter((d) => ['increase', 'capped', 'decrease'].includes(d.action));
    const rows = await waitFor(
      async () => {
        const r = await history.query<{ decision_id: string; primary_member: string | null; apply_status: string | null }>(
          'SELECT decision_id, primary_member, apply_status FROM walrus.history WHERE cluster = $1',
          [ID],
        );
        return r.length === ids.length && executable.every((d) => r.find((x) => x.decision_id === d.id)?.apply_status) ? r : null;
      },
      { what: 'every decision in the history with its outcome', timeoutMs: 30_000 },
    );
    expect(rows.map((r) => r.decision_id).sort()).toEqual([...ids].sort());
    for (const d of stored) expect(rows.find((r) => r.decision_id === d.id)?.primary_member).toBe(d.metadata['primary_member']);
    for (const d of executable) expect(results().filter((r) => r.decision_id === d.id && r.status === 'applied').length).toBeLessThanOrEqual(1);
    // Decisions were made on more than one primary.
    expect(new Set(stored.map((d) => d.metadata['primary_member'])).size).toBeGreaterThanOrEqual(2);
    // The REST API's and the role's passwords are URL parameters and userinfo: they never reach a log.
    const logs = JSON.stringify(services.map((s) => s.lines));
    expect(logs).not.toContain(cluster.restapiAuth.password);
    expect(logs).not.toContain(cluster.credentials.walrus.password);
  });
});

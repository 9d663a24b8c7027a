import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { decider } from '@walrus/decider';
import { historian } from '@walrus/historian';
import type { ApplyResult, Decision, Sample } from '@walrus/core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { storedMessages } from './faults/stream.js';
import { waitSettled } from './harness/consumers.js';
import { startInProcess, type InProcessService } from './harness/in-process.js';
import { prepareLeaderLoad, startLeaderLoad, type LeaderLoad } from './harness/leader-load.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startPatroniCluster, type PatroniCluster, type PatroniMember } from './harness/patroni.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

// walrus on a real Patroni cluster (Debian's patroni 3.0, two members over a
// one-node etcd), under write load that follows the leader: the size goes to
// every member through PATCH /config; after a switchover and after a kill -9
// failover, a new primary that comes up below the size walrus had put in
// force gets it back from walrus at walrus's first sample of it, and walrus
// goes on tuning it; no decision is lost or doubled. One cluster and one
// walrus for the whole file; each test starts from its own baseline, so any
// test runs alone (-t) and in any order.

const ID = 'ha-patroni';
let cluster: PatroniCluster;
let nats: NatsServer;
let history: PostgresCluster;
let watch: SubjectWatch;
let load: LeaderLoad;
let env: Record<string, string>;
/** historian, decider, applier, collector: the collector is stopped and started again by the failover tests. */
const services: InProcessService[] = [];
const COLLECTOR = 3;
/** Collectors stopped by a test: their logs still count. */
const retired: InProcessService[] = [];
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
  await prepareLeaderLoad(leader.superuserUrl);

  const { username, password } = cluster.restapiAuth;
  const apis = cluster.nodes.map((m) => m.apiUrl).join(',');
  // Only the first member is listed: the others come from Patroni's GET /cluster.
  const first = defined(cluster.nodes[0]);
  const url =
    `postgres://walrus:${encodeURIComponent(cluster.credentials.walrus.password)}@127.0.0.1:${first.port}/postgres` +
    `?walrus_apply=patroni&walrus_members=patroni&walrus_patroni_url=${encodeURIComponent(apis)}` +
    `&walrus_patroni_user=${username}&walrus_patroni_password=${encodeURIComponent(password)}`;
  env = {
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
const storedDecisions = async () => (await storedMessages<Decision>(defined(services[0]).nc, 'WALRUS_DECISIONS', `walrus.decision.${ID}`)).map((m) => m.data);

async function maxWalSize(m: PatroniMember): Promise<string> {
  return defined((await m.query<{ v: string }>('SELECT current_setting($1) AS v', ['max_wal_size']))[0]).v;
}

/** Whether `postgresql.auto.conf` (ALTER SYSTEM) sets max_wal_size on `m`: a value there shadows Patroni's. */
async function shadowed(m: PatroniMember): Promise<boolean> {
  return (await m.query("SELECT 1 FROM pg_file_settings WHERE name = 'max_wal_size' AND sourcefile LIKE '%postgresql.auto.conf'")).length > 0;
}

/** max_wal_size set on `m` alone, behind walrus's and Patroni's back, as a DBA's ALTER SYSTEM would. */
async function alterSystemOn(m: PatroniMember, value: string): Promise<void> {
  await m.query(`ALTER SYSTEM SET max_wal_size = '${value}'`);
  await m.query('SELECT pg_reload_conf()');
  await waitFor(async () => (await maxWalSize(m)) === value, { what: `${m.name} at ${value}`, timeoutMs: 10_000 });
}

/**
 * A test's starting point, whatever ran before: every member streaming, no
 * ALTER SYSTEM value anywhere, the whole cluster at 32 MB with walrus.max
 * 32 MB (so walrus, at its ceiling, changes nothing until the test raises
 * it), and walrus starting afresh on it (`walrus reset`: its next sample is a
 * new baseline), so that nothing it learned before plays a part.
 */
async function baseline(): Promise<void> {
  await cluster.waitForMembersStreaming();
  await unseen(async () => {
    for (const m of cluster.nodes) {
      await m.query('ALTER SYSTEM RESET max_wal_size');
      await m.query('SELECT pg_reload_conf()');
    }
    await cluster.patchConfigAndWait({ postgresql: { parameters: { max_wal_size: '32MB', 'walrus.max': '32MB' } } });
    await waitFor(async () => (await Promise.all(cluster.nodes.map(maxWalSize))).every((v) => v === '32MB') || null, { what: 'every member at 32MB', timeoutMs: 30_000 });
    const reply = await defined(services[0]).nc.request('walrus.decider.reset', JSON.stringify({ cluster: ID }), { timeout: 10_000 });
    expect(reply.json()).toMatchObject({ ok: true });
  });
}

/** walrus.max for the whole cluster, through Patroni's dynamic configuration. */
async function setWalrusMax(value: string): Promise<void> {
  await cluster.patchConfigAndWait({ postgresql: { parameters: { 'walrus.max': value } } });
}

/** An outcome on the cluster's subject after the first `since` of them. */
const resultAfter = (since: number, match: (r: ApplyResult) => boolean, what: string) =>
  watch.next(`walrus.applied.${ID}`, (x) => results().indexOf(x as unknown as ApplyResult) >= since && match(x as unknown as ApplyResult), what, 90_000) as unknown as Promise<ApplyResult>;

/** The growth of the cluster to `mb`, decided on `primary` and applied, after the first `since` outcomes. */
async function growthTo(mb: number, primary: PatroniMember, since: number): Promise<ApplyResult> {
  const r = await resultAfter(since, (x) => x.status === 'applied' && x.max_wal_size_mb === mb, `a growth to ${mb} MB applied`);
  expect(r.member).toBe(nameOf(primary));
  expect(decisions().find((d) => d.id === r.decision_id)).toMatchObject({ primary_member: nameOf(primary) });
  return r;
}

/**
 * `change` made while walrus looks away: the collector stopped, and what it
 * had sampled evaluated and carried out first (the decider's and the
 * applier's consumers have acknowledged everything), so walrus sees nothing
 * of it until its first samples afterwards.
 */
async function unseen(change: () => Promise<void>): Promise<void> {
  const stopped = defined(services[COLLECTOR]);
  await stopped.stop();
  retired.push(stopped);
  try {
    const nc = defined(services[0]).nc;
    await waitSettled(nc, 'WALRUS_SAMPLES', `walrus.sample.${ID}`, { what: 'every sample evaluated', timeoutMs: 30_000 });
    await waitSettled(nc, 'WALRUS_DECISIONS', `walrus.decision.${ID}`, { what: 'every decision carried out', timeoutMs: 60_000 });
    await change();
  } finally {
    services[COLLECTOR] = await startInProcess(collector, env, nats.url);
  }
}

/** walrus's first sample of `member` as a primary, from the stream. */
async function firstPrimarySample(member: PatroniMember, after: string): Promise<Sample> {
  return waitFor(
    async () =>
      (await storedMessages<Sample>(defined(services[0]).nc, 'WALRUS_SAMPLES', `walrus.sample.${ID}`))
        .map((m) => m.data)
        .find((s) => s.member === nameOf(member) && !s.in_recovery && s.collected_at > after),
    { what: `walrus's first sample of ${member.name} as the primary`, timeoutMs: 60_000 },
  );
}

/**
 * After a failover to `primary`, first sampled as `first` below the 64 MB
 * walrus had put in force: walrus's decision at that sample restores the
 * size on it (nothing else would: Patroni's value is 64 MB, but the member's
 * own ALTER SYSTEM value shadows it).
 */
async function restoredOn(primary: PatroniMember, first: Sample, since: number): Promise<Decision> {
  expect(first.max_wal_size_mb).toBe(32);
  const r = await resultAfter(since, (x) => x.status === 'applied' && x.member === nameOf(primary), `the size restored on ${primary.name}`);
  const d = defined(decisions().find((x) => x.id === r.decision_id), 'the restoring decision');
  expect(d).toMatchObject({ action: 'increase', sample_at: first.collected_at, old_size_mb: 32, new_size_mb: 64, primary_member: nameOf(primary) });
  expect(d.metadata).toMatchObject({ failover: true, learned_size_mb: 64 });
  expect(r.max_wal_size_mb).toBe(64);
  expect(await maxWalSize(primary)).toBe('64MB');
  expect(await shadowed(primary)).toBe(false);
  return d;
}

/**
 * Every decision walrus made since `since` (ISO time): stored once, carried
 * out at most once, and in the history with its outcome and primary.
 */
async function accountedFor(since: string): Promise<Decision[]> {
  const stored = (await storedDecisions()).filter((d) => d.decided_at >= since);
  const ids = stored.map((d) => d.id);
  expect(ids.length).toBeGreaterThan(0);
  expect(new Set(ids).size).toBe(ids.length);
  const executable = stored.filter((d) => ['increase', 'capped', 'decrease'].includes(d.action));
  const rows = await waitFor(
    async () => {
      const r = await history.query<{ decision_id: string; primary_member: string | null; apply_status: string | null }>(
        'SELECT decision_id, primary_member, apply_status FROM walrus.history WHERE cluster = $1 AND decision_id = ANY($2)',
        [ID, ids],
      );
      return r.length === ids.length && executable.every((d) => r.find((x) => x.decision_id === d.id)?.apply_status) ? r : null;
    },
    { what: 'every decision in the history with its outcome', timeoutMs: 30_000 },
  );
  for (const d of stored) expect(rows.find((r) => r.decision_id === d.id)?.primary_member).toBe(d.primary_member ?? null);
  for (const d of executable) expect(results().filter((r) => r.decision_id === d.id && r.status === 'applied').length).toBeLessThanOrEqual(1);
  return stored;
}

describe('high availability - a real Patroni cluster', () => {
  test('growth under write load reaches both members through PATCH /config, after resetting ALTER SYSTEM on each', async () => {
    await baseline();
    const since = new Date().toISOString();
    const sinceResults = results().length;
    const leader = await cluster.waitForLeader();
    // A stale ALTER SYSTEM value on the replica, the same as Patroni's (so walrus sees nothing to correct there):
    // it would shadow PATCH /config on that member unless walrus resets it.
    const replica = defined(cluster.nodes.find((m) => m !== leader));
    await alterSystemOn(replica, '32MB');
    expect(await shadowed(replica)).toBe(true);
    await setWalrusMax('64MB');
    const r = await growthTo(64, leader, sinceResults);
    expect(r.failed_members).toEqual([]);
    expect(r.members?.map((m) => [m.member, m.role, m.status, m.max_wal_size_mb]).sort()).toEqual(
      cluster.nodes.map((m) => [nameOf(m), m === leader ? 'primary' : 'standby', 'applied', 64]).sort(),
    );
    for (const m of cluster.nodes) {
      expect(await maxWalSize(m)).toBe('64MB');
      // Nothing left in postgresql.auto.conf to shadow Patroni's value.
      expect(await shadowed(m)).toBe(false);
    }
    expect(await cluster.config()).toMatchObject({ postgresql: { parameters: { max_wal_size: '64MB' } } });
    // Both members were found through Patroni and are sampled.
    await waitFor(() => cluster.nodes.every((m) => defined(services[COLLECTOR]).lines.some((l) => l.msg === 'cluster reachable' && l['member'] === nameOf(m))), {
      what: 'both members sampled',
      timeoutMs: 10_000,
    });
    const decided = await accountedFor(since);
    expect(decided.find((d) => d.id === r.decision_id)).toMatchObject({ old_size_mb: 32, new_size_mb: 64 });
  });

  test('patronictl switchover under write load: the new primary, below the learned size, gets it back at walrus first sample of it, and walrus tunes it', async () => {
    await baseline();
    const since = new Date().toISOString();
    const sinceResults = results().length;
    const leader = await cluster.waitForLeader();
    await setWalrusMax('64MB');
    await growthTo(64, leader, sinceResults);
    // Unseen by walrus: the replica lowered to 32 MB on its own (its ALTER SYSTEM value shadows Patroni's 64 MB), then the switchover to it.
    const before = new Date().toISOString();
    const afterSwitch = results().length;
    let to: PatroniMember | undefined;
    await unseen(async () => {
      await alterSystemOn(defined(cluster.nodes.find((m) => m !== leader)), '32MB');
      ({ to } = await cluster.switchover());
    });
    const primary = defined(to, 'the new primary');
    const first = await firstPrimarySample(primary, before);
    await restoredOn(primary, first, afterSwitch);
    // The old primary restarts as a replica (a member unreachable meanwhile is listed as failed): wait for it.
    await cluster.waitForMembersStreaming();
    const tuned = results().length;
    await setWalrusMax('128MB');
    const r = await growthTo(128, primary, tuned);
    expect(r.failed_members).toEqual([]);
    // Decisions on both primaries, none lost or doubled.
    const decided = await accountedFor(since);
    expect(new Set(decided.map((d) => d.primary_member))).toEqual(new Set([nameOf(leader), nameOf(primary)]));
  });

  test('kill -9 of the primary postmaster under write load: the promoted replica, below the learned size, gets it back, walrus tunes it, the old primary gets it too', async () => {
    await baseline();
    const since = new Date().toISOString();
    const sinceResults = results().length;
    const old = await cluster.waitForLeader();
    const oldTimeline = (await cluster.timelines(old)).current;
    await setWalrusMax('64MB');
    await growthTo(64, old, sinceResults);
    // A replica that is not streaming is no failover candidate: Patroni would restart the primary in place.
    await cluster.waitForMembersStreaming();
    const failedRuns = load.failedRuns;
    const before = new Date().toISOString();
    const afterKill = results().length;
    let promoted: PatroniMember | undefined;
    // Unseen by walrus: the replica lowered to 32 MB on its own, then the primary's postmaster killed and the replica promoted.
    await unseen(async () => {
      await alterSystemOn(defined(cluster.nodes.find((m) => m !== old)), '32MB');
      await cluster.killPrimaryPostmaster();
      promoted = await cluster.waitForLeader({ not: old });
    });
    const now = defined(promoted, 'the promoted replica');
    const first = await firstPrimarySample(now, before);
    expect(first.timeline).toBeGreaterThan(oldTimeline ?? 0);
    await restoredOn(now, first, afterKill);
    const tuned = results().length;
    await setWalrusMax('128MB');
    await growthTo(128, now, tuned);
    await cluster.waitForMembersStreaming();
    // PATCH /config is the cluster's: the old primary, back as a replica, runs the size too.
    await waitFor(async () => (await maxWalSize(old)) === '128MB', { what: 'the old primary at 128MB', timeoutMs: 30_000 });
    // The failover did interrupt the load, which goes on on the new primary.
    await waitFor(() => load.failedRuns > failedRuns, { what: 'a pgbench run ended by the failover', timeoutMs: 30_000 });
    const decided = await accountedFor(since);
    expect(new Set(decided.map((d) => d.primary_member))).toEqual(new Set([nameOf(old), nameOf(now)]));
  });

  test('the REST API\'s and the role\'s passwords, URL parameters and userinfo, never reach a log', async () => {
    // Whatever ran before: the services have connected to every member, found through Patroni's REST API.
    await waitFor(() => cluster.nodes.every((m) => services.some((s) => s.lines.some((l) => l.msg === 'cluster reachable' && l['member'] === nameOf(m)))), {
      what: 'every member reached',
      timeoutMs: 30_000,
    });
    const logs = JSON.stringify([...services, ...retired].map((s) => s.lines));
    expect(logs).not.toContain(cluster.restapiAuth.password);
    expect(logs).not.toContain(cluster.credentials.walrus.password);
  });
});

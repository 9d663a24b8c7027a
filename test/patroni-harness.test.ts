import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { cleanupAll, waitFor } from './harness/mod.js';
import { startPatroniCluster, type PatroniCluster, type PatroniMember } from './harness/patroni.js';
import { defined } from './harness/defined.js';

// The harness's real Patroni cluster (Debian's patroni 3.0 over a one-node
// etcd 3.4, on Debian's PostgreSQL): one cluster for the whole file, the
// tests in order (each leaves two members, one leader, one streaming replica).

let cluster: PatroniCluster;
// What each step took, and what was seen at a promotion, printed at the
// end: figures, not assertions.
const timings: Record<string, number> = {};
const observed: Record<string, unknown> = {};

async function timed<T>(name: string, step: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await step();
  timings[name] = Date.now() - started;
  return result;
}

beforeAll(async () => {
  cluster = await timed('bootstrap of 2 members', () => startPatroniCluster());
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`Patroni cluster logs after "${ctx.task.name}":\n${await cluster.logs(80)}`);
});

afterAll(async () => {
  console.info(`Patroni harness timings (ms): ${JSON.stringify(timings)}\nobserved: ${JSON.stringify(observed)}`);
  await cleanupAll();
});

async function show(member: PatroniMember, name: string): Promise<string> {
  const rows = await member.query<{ v: string }>(`SELECT current_setting($1) AS v`, [name], 'walrus');
  return defined(rows[0]).v;
}

async function waitForSetting(members: readonly PatroniMember[], name: string, value: string, what: string): Promise<void> {
  await waitFor(
    async () => {
      for (const m of members) if ((await show(m, name)) !== value) return false;
      return true;
    },
    // Patroni applies dynamic configuration (a reload) within loop_wait (2 s).
    { what, timeoutMs: 15_000, intervalMs: 100 },
  );
}

async function other(than: PatroniMember): Promise<PatroniMember> {
  const found = cluster.nodes.find((m) => m !== than);
  if (!found) throw new Error('the cluster has one member');
  return found;
}

describe('a Patroni cluster in the harness', () => {
  test('bootstraps two members: one leader, one replica streaming from it', async () => {
    const states = await cluster.members();
    expect(states.map((s) => s.name).sort()).toEqual(['m1', 'm2']);
    const leader = states.filter((s) => s.role === 'leader');
    const replicas = states.filter((s) => s.role === 'replica');
    expect(leader).toHaveLength(1);
    expect(replicas).toHaveLength(1);
    expect(states.every((s) => s.state === 'running' && s.host === '127.0.0.1' && s.port === s.member.port)).toBe(true);
    expect((await cluster.leader())?.name).toBe(defined(leader[0]).name);

    const primary = defined(leader[0]).member;
    const replica = defined(replicas[0]).member;
    expect((await primary.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r', [], 'walrus'))[0]?.r).toBe(false);
    expect((await replica.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r', [], 'walrus'))[0]?.r).toBe(true);
    const wal = await replica.query<{ status: string; sender_port: number }>('SELECT status, sender_port FROM pg_stat_wal_receiver', [], 'walrus');
    expect(wal).toEqual([{ status: 'streaming', sender_port: primary.port }]);
    // The REST API is protected: a write without basic auth is refused.
    const res = await fetch(`${primary.apiUrl}/config`, { method: 'PATCH', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(401);
  });

  test('max_wal_size is Patroni dynamic configuration, read from postgresql.conf, not the command line', async () => {
    for (const m of cluster.nodes) {
      const rows = await m.query<{ setting: string; unit: string; source: string; sourcefile: string }>(
        "SELECT setting, unit, source, sourcefile FROM pg_settings WHERE name = 'max_wal_size'",
      );
      expect(rows[0]).toEqual({ setting: '32', unit: 'MB', source: 'configuration file', sourcefile: `${m.dataDir}/postgresql.conf` });
      const cmdline = await readFile(`/proc/${defined(m.postmasterPid())}/cmdline`, 'utf8');
      expect(cmdline).toContain('--port=');
      expect(cmdline).not.toContain('max_wal_size');
    }
    expect(await cluster.config()).toMatchObject({ postgresql: { parameters: { max_wal_size: '32MB' } } });
  });

  test('PATCH /config with basic auth reaches both members', async () => {
    const config = await cluster.patchConfig({ postgresql: { parameters: { max_wal_size: '256MB' } } });
    expect(config).toMatchObject({ loop_wait: 2, postgresql: { parameters: { max_wal_size: '256MB' } } });
    await timed('PATCH /config reaches both members', () => waitForSetting(cluster.nodes, 'max_wal_size', '256MB', 'max_wal_size 256MB on both members'));
  });

  test('the walrus role can ALTER SYSTEM max_wal_size and reload on the primary and on the replica, and that shadows PATCH /config', async () => {
    const roles = await cluster.members();
    for (const s of roles) {
      await s.member.query("ALTER SYSTEM SET max_wal_size = '512MB'", [], 'walrus');
      await s.member.query('SELECT pg_reload_conf()', [], 'walrus');
    }
    expect(roles.map((s) => s.role).sort()).toEqual(['leader', 'replica']);
    await waitForSetting(cluster.nodes, 'max_wal_size', '512MB', 'max_wal_size 512MB from ALTER SYSTEM on both members');
    for (const m of cluster.nodes) {
      const rows = await m.query<{ sourcefile: string }>("SELECT sourcefile FROM pg_settings WHERE name = 'max_wal_size'");
      expect(rows[0]?.sourcefile).toBe(`${m.dataDir}/postgresql.auto.conf`);
    }
    // But the role cannot change anything else.
    await expect(defined(roles[0]).member.query("ALTER SYSTEM SET checkpoint_timeout = '5min'", [], 'walrus')).rejects.toThrow(/permission denied/);

    // Patroni writes a new dynamic value into postgresql.conf and reloads,
    // but postgresql.auto.conf wins until the ALTER SYSTEM value is reset.
    await cluster.patchConfig({ postgresql: { parameters: { max_wal_size: '128MB' } } });
    await waitFor(
      async () => {
        for (const m of cluster.nodes) if (!/^max_wal_size = '128MB'$/m.test(await readFile(`${m.dataDir}/postgresql.conf`, 'utf8'))) return false;
        return true;
      },
      { what: "max_wal_size = '128MB' in both members' postgresql.conf", timeoutMs: 15_000, intervalMs: 100 },
    );
    for (const m of cluster.nodes) expect(await show(m, 'max_wal_size')).toBe('512MB');
    for (const m of cluster.nodes) {
      await m.query('ALTER SYSTEM RESET max_wal_size', [], 'walrus');
      await m.query('SELECT pg_reload_conf()', [], 'walrus');
    }
    await waitForSetting(cluster.nodes, 'max_wal_size', '128MB', 'max_wal_size back to the dynamic 128MB on both members');
  });

  test('a write on the leader is visible on the replica', async () => {
    const leader = await cluster.waitForLeader();
    const replica = await other(leader);
    await leader.query('CREATE TABLE IF NOT EXISTS harness_writes (id int PRIMARY KEY, note text)');
    await leader.query("INSERT INTO harness_writes VALUES (1, 'before any switchover')");
    await waitFor(async () => (await replica.query('SELECT note FROM harness_writes WHERE id = 1')).length === 1, {
      what: 'the row on the replica',
      timeoutMs: 10_000,
    });
  });

  test('patronictl switchover makes the replica the leader on the next timeline; the old leader follows it', async () => {
    const before = await cluster.waitForLeader();
    const target = await other(before);
    const tlBefore = defined((await cluster.timelines(before)).current);
    const { from, to } = await timed('switchover (patronictl until the new leader takes writes)', () => cluster.switchover());
    expect(from).toBe(before);
    expect(to).toBe(target);
    // Once the new primary is out of recovery, the timeline it writes on is
    // the next one; pg_control_checkpoint() still names the old one until the
    // checkpoint after promotion, and Patroni's /cluster until its next loop.
    const [tl, states] = await Promise.all([cluster.timelines(to), cluster.members()]);
    observed['switchover: at the first write on the new leader'] = {
      timelineBefore: tlBefore,
      current: tl.current,
      checkpoint: tl.checkpoint,
      patroni: states.map((s) => ({ name: s.name, role: s.role, state: s.state, timeline: s.timeline })),
    };
    expect(tl.current).toBe(tlBefore + 1);
    await timed('switchover: old leader streaming again', () => cluster.waitForMembersStreaming());
    expect((await cluster.members()).find((s) => s.role === 'leader')).toMatchObject({ name: to.name, timeline: tlBefore + 1 });
    expect((await cluster.timelines(to)).current).toBe(tlBefore + 1);
    expect((await cluster.timelines(from)).current).toBe(tlBefore + 1);
    await waitFor(async () => (await cluster.timelines(to)).checkpoint === tlBefore + 1, {
      what: 'the checkpoint after promotion, on the new timeline',
      timeoutMs: 30_000,
    });

    await to.query("INSERT INTO harness_writes VALUES (2, 'after the switchover')");
    await waitFor(async () => (await from.query('SELECT id FROM harness_writes ORDER BY id')).length === 2, {
      what: 'both rows on the old leader, now a replica',
      timeoutMs: 10_000,
    });
  });

  test('kill -9 of the leader postmaster fails over to the replica; the old leader rejoins as a replica', async () => {
    const before = await cluster.waitForLeader();
    const tlBefore = defined((await cluster.timelines(before)).current);
    await before.query("INSERT INTO harness_writes VALUES (3, 'before kill -9')");
    await cluster.waitForMembersStreaming();
    const { member, pid } = await cluster.killPrimaryPostmaster();
    expect(member).toBe(before);
    const started = Date.now();
    const after = await cluster.waitForLeader({ not: before });
    timings['failover after kill -9 of the postmaster (until the new leader takes writes)'] = Date.now() - started;
    expect(after).toBe(await other(before));
    expect((await cluster.timelines(after)).current).toBe(tlBefore + 1);
    expect((await after.query('SELECT id FROM harness_writes ORDER BY id')).map((r) => r['id'])).toEqual([1, 2, 3]);
    await timed('kill -9: old leader streaming again', () => cluster.waitForMembersStreaming());
    // Patroni started a new postmaster on the old leader, as a replica.
    expect(before.postmasterPid()).not.toBe(pid);
    expect((await before.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0]?.r).toBe(true);
  });

  test("with Patroni's default primary_start_timeout, kill -9 of the leader postmaster restarts it in place, yet on a new timeline", async () => {
    await cluster.patchConfigAndWait({ primary_start_timeout: 300 });
    const before = await cluster.waitForLeader();
    const tlBefore = defined((await cluster.timelines(before)).current);
    const { pid } = await cluster.killPrimaryPostmaster();
    const started = Date.now();
    await waitFor(() => before.postmasterPid() !== undefined && before.postmasterPid() !== pid, {
      what: 'a new postmaster on the same member',
      timeoutMs: 30_000,
    });
    expect(await cluster.waitForLeader()).toBe(before);
    timings['kill -9 of the postmaster, restarted in place (until it takes writes)'] = Date.now() - started;
    // Patroni runs crash recovery (single-user mode, for pg_rewind's sake),
    // starts the old primary read-only ("because I had the session lock") and
    // promotes it: the same member, but the next timeline.
    expect((await cluster.timelines(before)).current).toBe(tlBefore + 1);
    await cluster.waitForMembersStreaming();
    await cluster.patchConfigAndWait({ primary_start_timeout: 0 });
  });

  test('a leader whose Patroni is stopped (SIGTERM) hands over at once, and rejoins when started again', async () => {
    const before = await cluster.waitForLeader();
    const tlBefore = defined((await cluster.timelines(before)).current);
    const started = Date.now();
    await before.stop();
    expect(before.running).toBe(false);
    // Patroni stopped its PostgreSQL too, and released the leader key.
    expect(before.postmasterPid()).toBeUndefined();
    const after = await cluster.waitForLeader({ not: before });
    timings['failover after SIGTERM to the leader Patroni (until the new leader takes writes)'] = Date.now() - started;
    expect((await cluster.timelines(after)).current).toBe(tlBefore + 1);
    before.start();
    await timed('stopped leader started again: streaming', () => cluster.waitForMembersStreaming({ members: cluster.nodes }));
  });

  test('a crashed leader (Patroni and PostgreSQL killed) is replaced once its key expires, and rejoins when started again', async () => {
    const before = await cluster.waitForLeader();
    const tlBefore = defined((await cluster.timelines(before)).current);
    const killed = await cluster.killLeader();
    expect(killed).toBe(before);
    expect(killed.running).toBe(false);
    expect(killed.postmasterPid()).toBeUndefined();
    const started = Date.now();
    const after = await cluster.waitForLeader({ not: before });
    timings['failover after a crashed leader (ttl 10 s; until the new leader takes writes)'] = Date.now() - started;
    expect((await cluster.timelines(after)).current).toBe(tlBefore + 1);
    // The dead member stays listed by Patroni until its member key expires too.
    killed.start();
    await timed('crashed leader started again: streaming', () => cluster.waitForMembersStreaming({ members: cluster.nodes }));
    expect((await cluster.leader())?.name).toBe(after.name);
  });
});

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applier } from '@walrus/applier';
import { runControlCommand } from '@walrus/cli';
import { collector } from '@walrus/collector';
import { control } from '@walrus/control';
import { decider } from '@walrus/decider';
import { historian } from '@walrus/historian';
import type { ApplyResult, ClusterStatus, Decision, Sample } from '@walrus/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { storedMessages } from './faults/stream.js';
import { startInProcess, type InProcessService } from './harness/in-process.js';
import { prepareLeaderLoad, startLeaderLoad, type LeaderLoad } from './harness/leader-load.js';
import { maxWalSizeMb } from './harness/load.js';
import { cleanupAll, createStandby, startNats, startPostgres, waitFor, type NatsServer, type PgVersion, type PostgresCluster } from './harness/mod.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

// A primary and a streaming standby (no cluster manager), listed as one
// cluster: growth reaches both; the standby, cut off from walrus for a while,
// misses a growth; promoted, it is brought back to the learned size at the
// first sample walrus takes of it, and walrus goes on tuning it. PostgreSQL
// 15 and 18, under write load that follows the primary.

let nats: NatsServer;
let history: PostgresCluster;
let watch: SubjectWatch;
const services: InProcessService[] = [];
let load: LeaderLoad | null = null;

beforeAll(async () => {
  [nats, history] = await Promise.all([startNats(), startPostgres({ version: 17 })]);
  watch = await SubjectWatch.open(nats.url, ['walrus.decision.>', 'walrus.applied.>']);
});
afterEach(async () => {
  await load?.stop();
  load = null;
  await Promise.all(services.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await watch?.close();
  await cleanupAll();
});

/** `walrus.max` on one server, as a DBA sets it (before 17, ALTER SYSTEM needs a SET of the placeholder first). */
async function setWalrusMax(c: PostgresCluster, value: string): Promise<void> {
  const client = await c.connect();
  try {
    await client.query(`SET walrus.max = '${value}'`);
    await client.query(`ALTER SYSTEM SET walrus.max = '${value}'`);
    await client.query('SELECT pg_reload_conf()');
  } finally {
    await client.end();
  }
}

/** Refuses (or allows again) the walrus role's connections to one server, and ends those it has. */
async function blockWalrus(c: PostgresCluster, blocked: boolean): Promise<void> {
  const hba = join(c.dataDir, 'pg_hba.conf');
  const rule = 'host all walrus 127.0.0.1/32 reject\n';
  const text = (await readFile(hba, 'utf8')).replace(rule, '');
  await writeFile(hba, blocked ? rule + text : text);
  await c.query('SELECT pg_reload_conf()');
  if (blocked) await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'walrus'");
}

async function start(env: Record<string, string>): Promise<void> {
  for (const def of [historian, decider, applier, collector, control] as const) {
    services.push(await startInProcess(def as Parameters<typeof startInProcess>[0], env, nats.url));
  }
}

const decisions = (id: string) => watch.on(`walrus.decision.${id}`) as unknown as Decision[];
const results = (id: string) => watch.on(`walrus.applied.${id}`) as unknown as ApplyResult[];

describe.each([15, 18] as PgVersion[])('high availability - plain streaming replication, PostgreSQL %i', (version) => {
  it('growth reaches both members; a promoted standby gets the learned size at its first sample, and walrus goes on tuning it', async () => {
    const id = `ha-stream-${version}`;
    const primary = await startPostgres({ version, config: { max_wal_size: '32MB', checkpoint_timeout: '30s' } });
    for (const sql of [
      'CREATE ROLE walrus LOGIN',
      'GRANT pg_monitor TO walrus',
      'GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO walrus',
      'GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO walrus',
    ]) {
      await primary.query(sql);
    }
    const standby = await createStandby(primary);
    const P = `127.0.0.1:${primary.port}`;
    const S = `127.0.0.1:${standby.port}`;
    await setWalrusMax(primary, '64MB');
    await prepareLeaderLoad(primary.url);

    await start({
      WALRUS_CLUSTERS: `${id}=postgres://walrus@${P},${S}/postgres`,
      HISTORY_DATABASE_URL: history.url,
      WALRUS_SAMPLE_INTERVAL: '1',
      WALRUS_THRESHOLD: '1',
      WALRUS_COOLDOWN_SEC: '0',
      WALRUS_MAX_CHANGES_PER_HOUR: '1000',
      WALRUS_SHRINK_ENABLE: 'off',
      WALRUS_MAX: '1GB',
      WALRUS_CONNECT_TIMEOUT_SEC: '2',
    });
    load = startLeaderLoad(`postgresql://postgres@${P},${S}/postgres?target_session_attrs=read-write`);

    // 1. Growth (capped at walrus.max 64 MB) reaches the primary and the standby.
    const grown = await watch.next(
      `walrus.applied.${id}`,
      (r) => r['status'] === 'applied' && r['max_wal_size_mb'] === 64,
      'a growth to 64 MB applied',
    );
    expect(grown).toMatchObject({
      member: P,
      members: [
        { member: P, role: 'primary', status: 'applied', max_wal_size_mb: 64 },
        { member: S, role: 'standby', status: 'applied', max_wal_size_mb: 64 },
      ],
      failed_members: [],
    });
    expect(await maxWalSizeMb(standby)).toBe(64);
    const first = defined(decisions(id).find((d) => d.id === grown['decision_id']));
    // The typed field, and its copy in metadata for subscribers that read that.
    expect(first).toMatchObject({ primary_member: P, metadata: { primary_member: P } });

    // 2. The standby cut off from walrus: the next growth reaches the primary only, and says so.
    await blockWalrus(standby, true);
    await setWalrusMax(primary, '128MB');
    const partial = await watch.next(
      `walrus.applied.${id}`,
      (r) => r['status'] === 'applied' && r['max_wal_size_mb'] === 128,
      'a growth to 128 MB applied on the primary',
    );
    expect(partial).toMatchObject({ member: P, failed_members: [S] });
    expect((partial['members'] as ApplyResult['members'])?.find((m) => m.member === S)).toMatchObject({ role: 'unknown', status: 'unreachable' });
    expect(await maxWalSizeMb(standby)).toBe(64);

    // 3. The primary crashes; the standby is promoted under write load, then walrus may reach it again.
    await primary.kill();
    await standby.promote();
    await blockWalrus(standby, false);
    const restore = await watch.next(
      `walrus.decision.${id}`,
      (d) => (d['metadata'] as Record<string, unknown>)['failover'] === true,
      'the restore decision after the failover',
    );
    expect(restore).toMatchObject({
      action: 'increase',
      old_size_mb: 64,
      new_size_mb: 128,
      primary_member: S,
      metadata: { primary_member: S, previous_primary: P, timeline_from: 1, timeline_to: 2, learned_size_mb: 128 },
    });
    // Within one sample interval: the decision is the one made at walrus's first sample of the promoted standby.
    const samples = (await storedMessages<Sample>(defined(services[0]).nc, 'WALRUS_SAMPLES', `walrus.sample.${id}`)).map((m) => m.data);
    const firstOfNewPrimary = samples.find((s) => s.member === S && !s.in_recovery);
    expect(firstOfNewPrimary).toMatchObject({ timeline: 2, max_wal_size_mb: 64 });
    expect(restore['sample_at']).toBe(defined(firstOfNewPrimary).collected_at);
    const restored = await watch.next(`walrus.applied.${id}`, (r) => r['decision_id'] === restore['id'], 'the restore applied');
    expect(restored).toMatchObject({ status: 'applied', member: S, max_wal_size_mb: 128, failed_members: [P] });
    expect(await maxWalSizeMb(standby)).toBe(128);

    // 4. walrus goes on tuning the new primary.
    await setWalrusMax(standby, '256MB');
    const later = await watch.next(
      `walrus.applied.${id}`,
      (r) => r['status'] === 'applied' && r['max_wal_size_mb'] === 256,
      'a growth of the new primary to 256 MB',
    );
    expect(later).toMatchObject({ member: S });
    expect(decisions(id).find((d) => d.id === later['decision_id'])).toMatchObject({ primary_member: S });
    await load.stop();
    expect(load.transactions).toBeGreaterThan(0);

    // Status tells the members apart: the new primary, and the old one last seen as primary on timeline 1.
    const status = async (args: string[]) => {
      let out = '';
      const code = await runControlCommand('status', args, { NATS_URL: nats.url }, { out: (t) => (out += t), err: () => undefined });
      expect(code).toBe(0);
      return out;
    };
    // Members are shown as their last sample found them: wait for one taken after the growth.
    const api = await waitFor(
      async () => {
        const st = JSON.parse(await status([id, '--json'])) as ClusterStatus;
        return st.members[0]?.max_wal_size_mb === 256 ? st : null;
      },
      { what: 'status showing the new primary at 256 MB', timeoutMs: 20_000 },
    );
    expect(api).toMatchObject({ primary_member: S, failovers: 1, current_max_wal_size_mb: 256, in_recovery: false });
    expect(api.members.map((m) => [m.member, m.role, m.timeline])).toEqual([
      [S, 'primary', 2],
      [P, 'stale_primary', 1],
    ]);
    expect(api.members[0]).toMatchObject({ max_wal_size_mb: 256, at_cluster_size: true });
    const detail = await status([id]);
    expect(detail).toMatch(new RegExp(`primary\\s+${S}`));
    expect(detail).toMatch(new RegExp(`${id}\\s+${S}\\s+primary\\s+256 MB\\s+2\\s`));
    expect(detail).toMatch(new RegExp(`${id}\\s+${P}\\s+stale primary\\s+\\d+ MB\\s+1\\s`));
    expect(await status([])).toMatch(new RegExp(`CLUSTER\\s+MEMBER\\s+ROLE\\s+MAX_WAL_SIZE[^]*${id}\\s+${S}\\s+primary`));

    // 5. No decision lost or doubled: the stream, the history and the outcomes agree.
    const stored = (await storedMessages<Decision>(defined(services[0]).nc, 'WALRUS_DECISIONS', `walrus.decision.${id}`)).map((m) => m.data);
    const ids = stored.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(stored.some((d) => d.id === restore['id'])).toBe(true);
    const rows = await waitFor(
      async () => {
        const r = await history.query<{ decision_id: string; primary_member: string | null; apply_status: string | null }>(
          'SELECT decision_id, primary_member, apply_status FROM walrus.history WHERE cluster = $1 ORDER BY id',
          [id],
        );
        return r.length === ids.length && r.every((x) => x.apply_status !== null || !['increase', 'capped', 'decrease'].includes(stored.find((d) => d.id === x.decision_id)?.action ?? ''))
          ? r
          : null;
      },
      { what: 'every decision in the history, with its outcome', timeoutMs: 30_000 },
    );
    expect(rows.map((r) => r.decision_id).sort()).toEqual([...ids].sort());
    expect(rows.find((r) => r.decision_id === restore['id'])).toMatchObject({ primary_member: S, apply_status: 'applied' });
    // Each member's part is kept with the outcome.
    const [partialRow] = await history.query<{ apply_members: Array<{ member: string; status: string }> }>(
      'SELECT apply_members FROM walrus.history WHERE decision_id = $1',
      [partial['decision_id']],
    );
    expect(partialRow?.apply_members.map((m) => [m.member, m.status])).toEqual([
      [P, 'applied'],
      [S, 'unreachable'],
    ]);
    for (const d of stored.filter((x) => ['increase', 'capped', 'decrease'].includes(x.action))) {
      expect(results(id).filter((r) => r.decision_id === d.id && r.status === 'applied').length).toBeLessThanOrEqual(1);
    }
    await Promise.all([standby.cleanup(), primary.cleanup()]);
  }, 240_000);
});

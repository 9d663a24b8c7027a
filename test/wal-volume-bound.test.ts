import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWal } from './harness/load.js';
import { cleanupAll, startNats, startPostgres, waitFor, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { SubjectWatch } from './harness/watch.js';
import { defined } from './harness/defined.js';

afterAll(cleanupAll);

const MB = 1024 * 1024;
const BUDGET_MB = 256;
const MIN_MB = 32;
const GRACE_SEC = 6;
/*
 * Rows written a second: the grace of a slot warned at this rate must fit in
 * what the budget leaves (the bound plus half the margin, 192 MB here), or
 * walrus rightly lets the budget win and the slot may go before its grace.
 * 8,000 rows a second write 10-16 MB/s of WAL; the grace needs rate × 6 s.
 */
const ROWS_PER_SECOND = 8_000;
const SLOT = 'walrus_stuck';

/** The applier's least privilege with walrus.bound_slots: max_slot_wal_keep_size too (walrus grants --bound-slots). */
async function leastPrivilegeRole(pgc: PostgresCluster, boundSlots: boolean): Promise<string> {
  await pgc.query('CREATE ROLE walrus LOGIN');
  await pgc.query('GRANT pg_monitor TO walrus');
  await pgc.query('GRANT ALTER SYSTEM ON PARAMETER max_wal_size, max_slot_wal_keep_size TO walrus');
  await pgc.query('GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO walrus');
  // Opt-in per cluster, as an operator would (the service default stays off).
  if (boundSlots) await pgc.query("ALTER ROLE walrus SET walrus.bound_slots = 'on'");
  return pgc.urlFor('postgres', 'walrus');
}

interface SlotMsg {
  name: string;
  wal_status: string | null;
  retained_bytes: number | null;
}
interface SampleMsg {
  collected_at: string;
  pg_wal_bytes?: number;
  max_slot_wal_keep_size_mb?: number;
  replication_slots?: SlotMsg[];
}

/*
 * walrus.bound_slots on real servers (docs/DISK-SAFETY.md): one cluster
 * bounded ("vol"), one not ("free"), each with a physical slot that
 * reserves WAL and that nobody consumes, under a paced write load.
 */
describe.each([15, 18] as const)('wal volume - bound slots, PostgreSQL %i', (version) => {
  const VOL = `vol${version}`;
  const FREE = `free${version}`;
  let nats: NatsServer;
  let vol: PostgresCluster;
  let free: PostgresCluster;
  let walrus: WalrusProcess;
  let watch: SubjectWatch;

  const samples = (c: string) => watch.on(`walrus.sample.${c}`) as unknown as SampleMsg[];
  const alerts = (c: string, kind: string, state?: string) => watch.on(`walrus.alert.${c}`).filter((a) => a.kind === kind && (state === undefined || a.state === state));
  const slotOf = (s: SampleMsg) => s.replication_slots?.find((x) => x.name === SLOT);
  /** What pg_wal holds, as the superuser sees it: polled from the test, between walrus's samples too. */
  const pgWalBytes = async (pgc: PostgresCluster) => Number((await pgc.query<{ b: string }>('SELECT sum(size)::text AS b FROM pg_ls_waldir()'))[0]?.b ?? NaN);

  /** Writes one round a second until `until` holds (or the deadline), tracking the peak of pg_wal on `pgc`. */
  async function load(pgc: PostgresCluster, until: () => boolean, what: string, peak: { bytes: number }, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!until()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      const started = Date.now();
      await writeWal(pgc, { rounds: 1, rowsPerRound: ROWS_PER_SECOND });
      peak.bytes = Math.max(peak.bytes, await pgWalBytes(pgc));
      // Paced: the rate walrus measures between samples is the rate it promises the grace at.
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
      peak.bytes = Math.max(peak.bytes, await pgWalBytes(pgc));
    }
  }

  beforeAll(async () => {
    [nats, vol, free] = await Promise.all([
      startNats(),
      startPostgres({ version, config: { max_wal_size: '32MB', checkpoint_timeout: '30s' } }),
      startPostgres({ version, config: { max_wal_size: '32MB', checkpoint_timeout: '30s' } }),
    ]);
    await free.query('CREATE DATABASE history');
    const [volUrl, freeUrl] = await Promise.all([leastPrivilegeRole(vol, true), leastPrivilegeRole(free, false)]);
    for (const pgc of [vol, free]) await pgc.query('SELECT pg_create_physical_replication_slot($1, true)', [SLOT]);
    watch = await SubjectWatch.open(nats.url, ['walrus.sample.>', 'walrus.decision.>', 'walrus.applied.>', 'walrus.alert.>']);
    walrus = startWalrus(['all'], {
      NATS_URL: nats.url,
      WALRUS_CLUSTERS: `${VOL}=${volUrl},${FREE}=${freeUrl}`,
      HISTORY_DATABASE_URL: free.urlFor('history'),
      WALRUS_SAMPLE_INTERVAL: '1',
      WALRUS_WAL_DISK_BUDGET: `${BUDGET_MB}MB`,
      WALRUS_MIN_SIZE: `${MIN_MB}MB`,
      WALRUS_COOLDOWN_SEC: '0',
      WALRUS_MAX_CHANGES_PER_HOUR: '1000',
      WALRUS_SLOT_GRACE_SEC: String(GRACE_SEC),
      // A day: any steady growth of a slot is forecast to fill the budget within it.
      WALRUS_FORECAST_HORIZON_SEC: '86400',
    });
    await walrus.waitForLog((l) => l.msg === 'started', 'walrus all started');
  });

  afterAll(async () => {
    await walrus?.stop();
    await watch?.close();
  });

  it('wal volume - bounded: the keep size follows the budget, the stuck slot is warned, kept for its grace, then invalidated and slot_lost alerted; pg_wal never passes the budget', async () => {
    // At start-up the keep size is unlimited: walrus bounds it, max_wal_size unchanged.
    const first = await watch.next(`walrus.decision.${VOL}`, (d) => d.max_slot_wal_keep_size_mb !== undefined, 'the first keep size');
    expect(first).toMatchObject({ action: 'decrease', metadata: { trigger: 'bound_slots', slot_keep_from_mb: -1 } });
    expect(first.old_size_mb).toBe(first.new_size_mb);
    await watch.next(`walrus.applied.${VOL}`, (a) => a.decision_id === first.id && a.status === 'applied', 'the keep size applied');
    expect(Number((await vol.query<{ s: string }>("SELECT setting AS s FROM pg_settings WHERE name = 'max_slot_wal_keep_size'"))[0]?.s)).toBe(first.max_slot_wal_keep_size_mb);

    const peak = { bytes: 0 };
    await load(vol, () => alerts(VOL, 'slot_lost', 'firing').length > 0, 'the slot lost', peak, 75_000);

    const warned = defined(alerts(VOL, 'slot_retention', 'firing')[0], 'the at-risk warning');
    const lost = defined(alerts(VOL, 'slot_lost', 'firing')[0]);
    expect(warned).toMatchObject({ slot: SLOT, slot_keep_mb: expect.any(Number) as number });
    expect(warned.detail).toMatch(new RegExp(`^replication slot ${SLOT} \\(inactive\\) holds \\d+ MB: max_slot_wal_keep_size \\d+ MB \\(walrus.bound_slots\\) invalidates it.*, not before the end of its grace`));
    expect(lost).toMatchObject({ slot: SLOT, reason: 'wal_removed' });
    const graceEnds = Date.parse(defined(warned.grace_ends_at as string | undefined));
    expect(graceEnds - Date.parse(warned.at as string)).toBe(GRACE_SEC * 1000);
    // Invalidated only after the warning and its grace: the keep size that lets PostgreSQL invalidate it
    // comes from a sample at or after the grace's end, in which the slot was still valid.
    const validAfterGrace = samples(VOL).filter((s) => Date.parse(s.collected_at) >= graceEnds && slotOf(s)?.wal_status !== 'lost' && slotOf(s) !== undefined);
    const timeline = () =>
      JSON.stringify({
        warnedAt: warned.at,
        graceEnds: warned.grace_ends_at,
        samples: samples(VOL).map((s) => [s.collected_at.slice(11, 23), slotOf(s)?.wal_status, Math.round((slotOf(s)?.retained_bytes ?? 0) / MB), s.max_slot_wal_keep_size_mb, Math.round((s.pg_wal_bytes ?? 0) / MB)]),
        keeps: watch.on(`walrus.decision.${VOL}`).filter((d) => d.max_slot_wal_keep_size_mb !== undefined).map((d) => [d.timestamp, d.max_slot_wal_keep_size_mb, d.reason]),
      });
    expect(validAfterGrace.length, timeline()).toBeGreaterThan(0);
    const firstLost = defined(samples(VOL).find((s) => slotOf(s)?.wal_status === 'lost'));
    expect(Date.parse(firstLost.collected_at)).toBeGreaterThan(graceEnds);
    // Every decision carrying a keep size was within budget − max_wal_size − margin, or raised for the warned slot's grace.
    const decisions = watch.on(`walrus.decision.${VOL}`).filter((d) => d.max_slot_wal_keep_size_mb !== undefined);
    for (const d of decisions) {
      const m = d.metadata as Record<string, number | string>;
      expect(d.max_slot_wal_keep_size_mb).toBe(Math.max(Number(m.slot_keep_bound_mb), Number(m.slot_keep_floor_mb ?? 0)));
    }
    // WAL on disk never passed the budget: walrus's samples and the test's own readings.
    const sampled = Math.max(...samples(VOL).map((s) => s.pg_wal_bytes ?? 0));
    expect(Math.max(sampled, peak.bytes)).toBeLessThanOrEqual(BUDGET_MB * MB);

    // The forecast fired while the slot grew, naming it.
    expect(alerts(VOL, 'wal_disk_forecast', 'firing')[0]).toMatchObject({ cause: 'replication_slot', eta_seconds: expect.any(Number) as number });

    // History records the keep size like max_wal_size, and the alerts.
    const stored = await waitFor(
      async () => {
        const rows = await free.query<{ slot_keep_mb: number; applied_slot_keep_mb: number | null }>(
          `SELECT slot_keep_mb, applied_slot_keep_mb FROM walrus.history WHERE cluster = $1 AND decision_id = $2`,
          [VOL, first.id],
          { database: 'history' },
        );
        return rows[0]?.applied_slot_keep_mb != null ? rows[0] : undefined;
      },
      { what: 'the first keep size in walrus.history', timeoutMs: 30_000 },
    );
    expect(stored).toEqual({ slot_keep_mb: first.max_slot_wal_keep_size_mb, applied_slot_keep_mb: first.max_slot_wal_keep_size_mb });
    await waitFor(
      async () =>
        (await free.query(`SELECT 1 FROM walrus.alerts_firing WHERE cluster = $1 AND kind = 'slot_lost' AND slot = $2`, [VOL, SLOT], { database: 'history' })).length === 1 || undefined,
      { what: 'slot_lost in walrus.alerts_firing', timeoutMs: 30_000 },
    );

    // Dropped (its consumer rebuilt): slot_lost resolves.
    await vol.query('SELECT pg_drop_replication_slot($1)', [SLOT]);
    await watch.next(`walrus.alert.${VOL}`, (a) => a.kind === 'slot_lost' && a.state === 'resolved', 'slot_lost resolved');
  });

  it('wal volume - not bounded: max_slot_wal_keep_size untouched; the forecast fires on the growing slot and resolves once it is dropped', async () => {
    const peak = { bytes: 0 };
    await load(free, () => alerts(FREE, 'wal_disk_forecast', 'firing').length > 0, 'the forecast', peak);
    const fired = defined(alerts(FREE, 'wal_disk_forecast', 'firing')[0]);
    expect(fired).toMatchObject({ cause: 'replication_slot', budget_bytes: BUDGET_MB * MB });
    expect(fired.eta_seconds as number).toBeLessThanOrEqual(86400);
    expect(fired.detail).toMatch(new RegExp(`replication slot ${SLOT} grows by [\\d.]+ [MG]B/s: the budget is reached in about`));
    await free.query('SELECT pg_drop_replication_slot($1)', [SLOT]);
    // Nothing is written any more: nothing grows, and pg_wal gives back the slot's WAL at the next checkpoint.
    await free.query('CHECKPOINT');
    const resolved = await watch.next(`walrus.alert.${FREE}`, (a) => a.kind === 'wal_disk_forecast' && a.state === 'resolved', 'the forecast resolved', 60_000);
    expect(resolved.detail).toMatch(/^nothing that holds WAL is growing|budget is reached in about/);
    // Never touched: no decision carried a keep size, and the server's is still unlimited.
    expect(watch.on(`walrus.decision.${FREE}`).filter((d) => d.max_slot_wal_keep_size_mb !== undefined)).toEqual([]);
    expect((await free.query<{ s: string }>("SELECT setting AS s FROM pg_settings WHERE name = 'max_slot_wal_keep_size'"))[0]?.s).toBe('-1');
    expect(samples(FREE).every((s) => s.max_slot_wal_keep_size_mb === -1)).toBe(true);
  });
});

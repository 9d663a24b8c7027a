// Temporary: captures walrus_state values written by today's decider (v1) as fixtures. Not committed.
import { writeFileSync } from 'node:fs';
import { Kvm } from '@nats-io/kv';
import { decider } from '@walrus/decider';
import { type Sample } from '@walrus/core';
import { sampleWith } from '@walrus/core/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupAll, startNats, type NatsServer } from './harness/mod.js';
import { publishJs, type InProcessService } from './harness/in-process.js';
import { inProcessPerTest } from './harness/per-test.js';

let nats: NatsServer;
const start = inProcessPerTest(() => nats.url);
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await cleanupAll();
});

const OUT = new URL('../packages/core/src/engine/state/fixtures/', import.meta.url);
const T0 = Date.parse('2026-01-10T10:00:00Z');
const MB = 1024 * 1024;
const iso = (sec: number) => new Date(T0 + sec * 1000).toISOString();
const lsn = (bytes: number) => `${Math.floor(bytes / 2 ** 32).toString(16).toUpperCase()}/${(bytes % 2 ** 32).toString(16).toUpperCase()}`;

function s(cluster: string, sec: number, requested: number, walBytes: number, over: Partial<Sample> = {}): Sample {
  return sampleWith({
    cluster,
    collected_at: iso(sec),
    checkpoints_requested: requested,
    checkpoints_timed: Math.floor(sec / 60),
    wal_bytes: walBytes,
    wal_lsn: lsn(walBytes),
    checkpoint_timeout_s: 60,
    wal_segment_size_bytes: 16 * MB,
    ...over,
  });
}

const send = (svc: InProcessService, x: Sample) => publishJs(svc.nc, `walrus.sample.${x.cluster}`, x, `${x.cluster}:${Date.parse(x.collected_at)}:${x.member ?? ''}`);

async function capture(svc: InProcessService, name: string, samples: Sample[]): Promise<void> {
  for (const x of samples) await send(svc, x);
  const kv = await new Kvm(svc.nc).open('walrus_state');
  const cluster = samples[0]?.cluster ?? '';
  const last = samples.at(-1);
  await expect
    .poll(async () => {
      const e = await kv.get(cluster);
      const st = e?.json<{ members?: Record<string, { lastSampleAt: string }>; lastSampleAt: string | null }>();
      if (!st || !last) return false;
      const when = last.member !== undefined ? st.members?.[last.member]?.lastSampleAt : st.lastSampleAt;
      return when !== undefined && when !== null && Date.parse(when) === Date.parse(last.collected_at);
    }, { timeout: 30_000 })
    .toBe(true);
  const e = await kv.get(cluster);
  writeFileSync(new URL(`v1-${name}.json`, OUT), JSON.stringify(e?.json(), null, 2) + '\n');
}

it('captures v1 states', async () => {
  const svc = await start(decider, { WALRUS_COOLDOWN_SEC: '60', WALRUS_MAX_CHANGES_PER_HOUR: '3' });

  // multiplicative: baseline, growth, a skip in the cooldown, quiet intervals, a time profile in force.
  const profiles = JSON.stringify([{ name: 'always', start_hour: 0, end_hour: 24, overrides: { 'walrus.threshold': '2' } }]);
  const m: Sample[] = [];
  let wal = 100 * MB;
  let redo = 90 * MB;
  const sizes = [1024, 1024, 4096, 4096, 4096, 4096];
  const req = [0, 3, 3, 6, 6, 6];
  for (let i = 0; i < 6; i++) {
    wal += 40 * MB;
    redo += 32 * MB;
    m.push(s('fix-multiplicative', i * 30, req[i] ?? 0, wal, { max_wal_size_mb: sizes[i] ?? 1024, checkpoint_redo_bytes: redo, settings: { 'walrus.profiles': profiles } }));
  }
  await capture(svc, 'multiplicative', m);

  // adaptive: whole intervals measured, forced checkpoints, a growth (its own busyAt state).
  const a: Sample[] = [];
  wal = 10 * MB;
  redo = 8 * MB;
  let requested = 0;
  let size = 64;
  for (let i = 0; i < 12; i++) {
    wal += (i < 6 ? 2 : 12) * 5 * MB;
    redo += i < 6 ? 0 : 48 * MB;
    if (i >= 6 && i < 9) requested += 2;
    if (i === 10) size = 1200;
    a.push(s('fix-adaptive', i * 5 + (i >= 6 ? 60 : 0), requested, wal, { max_wal_size_mb: size, checkpoint_redo_bytes: redo, settings: { 'walrus.algorithm': 'adaptive' } }));
  }
  await capture(svc, 'adaptive', a);

  // Members: A primary, B standby; a growth on A, B brought to the cluster's size, then a failover to B (timeline 2) below the size.
  const A = 'db1:5432';
  const B = 'db2:5433';
  const mem: Sample[] = [
    s('fix-members', 0, 0, 100 * MB, { member: A, timeline: 1, max_wal_size_mb: 64 }),
    s('fix-members', 1, 500, 99 * MB, { member: B, timeline: 1, in_recovery: true, max_wal_size_mb: 64 }),
    s('fix-members', 60, 4, 200 * MB, { member: A, timeline: 1, max_wal_size_mb: 64 }),
    s('fix-members', 90, 4, 220 * MB, { member: A, timeline: 1, max_wal_size_mb: 320 }),
    s('fix-members', 91, 501, 219 * MB, { member: B, timeline: 1, in_recovery: true, max_wal_size_mb: 64 }),
    s('fix-members', 200, 30, 300 * MB, { member: B, timeline: 2, in_recovery: false, max_wal_size_mb: 64 }),
    s('fix-members', 230, 31, 320 * MB, { member: B, timeline: 2, in_recovery: false, max_wal_size_mb: 64 }),
  ];
  await capture(svc, 'members', mem);

  // Disk: a budget, a slot over 80 % of it, pg_wal over 80 %, a failing archiver: three alerts firing, the slots' memory.
  const slot = (name: string, retained: number) => ({ name, type: 'physical' as const, active: false, wal_status: 'extended', retained_bytes: retained, safe_wal_size_bytes: null });
  const archiver = {
    mode: 'on' as const,
    configured: true,
    archived_count: 3,
    failed_count: 7,
    last_archived_wal: '000000010000000000000003',
    last_archived_at: iso(0),
    last_failed_wal: '000000010000000000000004',
    last_failed_at: iso(50),
    pending_files: 4,
  };
  const budget = { 'walrus.wal_disk_budget': '1GB' };
  const d: Sample[] = [
    s('fix-disk', 0, 0, 500 * MB, { settings: budget, max_wal_size_mb: 256, pg_wal_bytes: 300 * MB, replication_slots: [slot('s1', 200 * MB)], replication_slot_count: 1, wal_keep_size_mb: 0 }),
    s('fix-disk', 60, 0, 560 * MB, {
      settings: budget,
      max_wal_size_mb: 256,
      pg_wal_bytes: 900 * MB,
      replication_slots: [slot('s1', 850 * MB), slot('s2', 10 * MB)],
      replication_slot_count: 2,
      wal_keep_size_mb: 0,
      archiver,
    }),
  ];
  await capture(svc, 'disk', d);
}, 120_000);

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sample } from '@walrus/core';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { runSimulate } from './mod.js';

const MB = 1024 * 1024;
const T0 = Date.parse('2026-01-05T10:00:00Z');

/** 32 MB, 30 s checkpoint_timeout, a sample every 30 s; from the third sample on 10 MB/s and 10 forced checkpoints per interval. */
function recorded(): Sample[] {
  const out: Sample[] = [];
  let wal = 0;
  let requested = 0;
  for (let i = 0; i < 12; i++) {
    const loaded = i >= 2;
    if (loaded) {
      wal += 30 * 10 * MB;
      requested += 10;
    }
    out.push({
      v: 1,
      cluster: 'replayed',
      collected_at: new Date(T0 + i * 30_000).toISOString(),
      server_version_num: 170000,
      in_recovery: false,
      checkpoints_requested: requested,
      checkpoints_timed: i,
      stats_reset: null,
      wal_lsn: '0/0',
      wal_bytes: wal,
      max_wal_size_mb: 32,
      checkpoint_timeout_s: 30,
      checkpoint_completion_target: 0.9,
      settings: { 'walrus.min_size': '32MB' },
      checkpoint_redo_bytes: wal,
      wal_segment_size_bytes: 16 * MB,
    });
  }
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'walrus-simulate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runSimulate(args, env, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe('simulate - replays recorded samples through each algorithm', () => {
  it('simulate - prints what every algorithm would have decided, as JSON', async () => {
    const file = join(dir, 'samples.jsonl');
    const samples = recorded();
    // out of order and with a broken line: sorted, and the line skipped with a word
    await writeFile(file, [...samples.slice(6), ...samples.slice(0, 6)].map((s) => JSON.stringify(s)).join('\n') + '\n{"v":2}\n');
    const r = await run(['--file', file, '--json', '--set', 'walrus.cooldown_sec=0'], { WALRUS_MAX: '2GB' });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('skipped');
    const out = JSON.parse(r.stdout) as Array<{ algorithm: string; summary: { increases: number; finalSizeMb: number }; decisions: Array<{ action: string; algorithm: string; sample_at: string }> }>;
    expect(out.map((o) => o.algorithm)).toEqual(['multiplicative', 'additive', 'adaptive', 'percentile']);
    const byName = Object.fromEntries(out.map((o) => [o.algorithm, o]));
    // pg_walrus: 32 x 11 = 352 MB at the first loaded interval, then 2 GB (capped by WALRUS_MAX).
    expect(byName['multiplicative']?.decisions.slice(0, 2).map((d) => d.action)).toEqual(['increase', 'capped']);
    expect(byName['multiplicative']?.summary.finalSizeMb).toBe(2048);
    // the formula: 10 MB/s x 30 s = 300 MB in whole 16 MB segments = 608 MB, with headroom.
    expect(byName['adaptive']?.summary.finalSizeMb).toBeGreaterThanOrEqual(608);
    expect(byName['adaptive']?.summary.finalSizeMb).toBeLessThan(2048);
    for (const o of out) for (const d of o.decisions) expect(d.algorithm).toBe(o.algorithm);
  });

  it('simulate - a table by default, one algorithm, and --export writes the samples read', async () => {
    const file = join(dir, 'one.jsonl');
    const exported = join(dir, 'exported.jsonl');
    await writeFile(file, recorded().map((s) => JSON.stringify(s)).join('\n'));
    const r = await run(['--file', file, '--algorithm', 'additive', '--decisions', '--export', exported]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('cluster replayed: 12 samples');
    expect(r.stdout).toMatch(/additive\s+\d+/);
    expect(r.stdout).not.toContain('multiplicative');
    expect((await readFile(exported, 'utf8')).trim().split('\n')).toHaveLength(12);
  });

  it('simulate - --recorded evaluates each sample at the size the cluster really had; by default the size follows the simulated decisions', async () => {
    const file = join(dir, 'recorded.jsonl');
    // The cluster really grew 32 -> 64 MB at the sixth sample (someone else's change, or another algorithm's).
    const samples = recorded().map((s, i) => ({ ...s, max_wal_size_mb: i >= 5 ? 64 : 32 }));
    await writeFile(file, samples.map((s) => JSON.stringify(s)).join('\n'));
    const args = ['--file', file, '--algorithm', 'multiplicative', '--json', '--decisions', '--set', 'walrus.cooldown_sec=0', '--set', 'walrus.max_changes_per_hour=100'];
    type Out = Array<{ summary: { increases: number }; decisions: Array<{ action: string; sample_at: string; old_size_mb: number; new_size_mb: number }> }>;
    const recordedRun = await run([...args, '--recorded']);
    const followed = await run(args);
    expect(recordedRun.code).toBe(0);
    expect(followed.code).toBe(0);
    const [recordedOut] = JSON.parse(recordedRun.stdout) as Out;
    const [followedOut] = JSON.parse(followed.stdout) as Out;
    assert(recordedOut && followedOut);
    const rec = recordedOut.decisions;
    const fol = followedOut.decisions;
    const sizeAt = new Map(samples.map((s) => [s.collected_at, s.max_wal_size_mb]));
    // Ten loaded intervals, ten forced checkpoints each: a growth at every one of them either way.
    expect(rec.map((d) => d.action)).toEqual(Array(10).fill('increase'));
    // --recorded: every decision starts from what the sample recorded, 32 MB then 64 MB, and asks for x11.
    for (const d of rec) {
      expect(d.old_size_mb).toBe(sizeAt.get(d.sample_at));
      expect(d.new_size_mb).toBe(d.old_size_mb * 11);
    }
    // Default: each decision starts from the size the previous one set (capped at walrus.max, 4 GB).
    expect(fol[0]).toMatchObject({ old_size_mb: 32, new_size_mb: 352 });
    fol.forEach((d, i) => {
      if (i > 0) expect(d.old_size_mb).toBe(fol[i - 1]?.new_size_mb);
    });
    expect(fol.at(-1)).toMatchObject({ action: 'capped', new_size_mb: 4096 });
  });

  it('simulate - four compressed days with a daily batch: from the second day on the simulated size is ready before the batch, named recurring', async () => {
    // A 20-minute "day" (walrus.recurring_period_sec=1200), a 2-minute batch at 20 MB/s from minute 10,
    // 0.5 MB/s otherwise; a sample every 5 s, recorded at 64 MB, where each batch sample saw 3 forced checkpoints.
    const DAY = 1200;
    const start = Date.UTC(2026, 0, 5, 10, 0, 0); // a multiple of 1200 s since the epoch: days start at slot 0
    const samples: Sample[] = [];
    let wal = 0;
    let requested = 0;
    let redo = 0;
    for (let t = 0; t <= 4 * DAY; t += 5) {
      const batch = t % DAY > 600 && t % DAY <= 720;
      wal += 5 * (batch ? 20 : 0.5) * MB;
      if (batch) requested += 3;
      // the redo point moves with each forced checkpoint, and with the timed one every 30 s
      if (batch || t % 30 === 0) redo = wal;
      samples.push({
        v: 1,
        cluster: 'daily',
        collected_at: new Date(start + t * 1000).toISOString(),
        server_version_num: 150000,
        in_recovery: false,
        checkpoints_requested: requested,
        checkpoints_timed: Math.floor(t / 30),
        stats_reset: null,
        wal_lsn: '0/0',
        wal_bytes: wal,
        max_wal_size_mb: 64,
        checkpoint_timeout_s: 30,
        checkpoint_completion_target: 0.9,
        settings: { 'walrus.min_size': '32MB', 'walrus.cooldown_sec': '0', 'walrus.max_changes_per_hour': '100' },
        checkpoint_redo_bytes: redo,
        wal_segment_size_bytes: 16 * MB,
      });
    }
    const file = join(dir, 'days.jsonl');
    await writeFile(file, samples.map((x) => JSON.stringify(x)).join('\n'));
    const args = ['--file', file, '--algorithm', 'adaptive', '--set', 'walrus.recurring_period_sec=1200'];
    const r = await run([...args, '--json']);
    expect(r.code).toBe(0);
    const [out] = JSON.parse(r.stdout) as Array<{ decisions: Array<{ action: string; sample_at: string; new_size_mb: number; reason: string; metadata: Record<string, unknown> }> }>;
    assert(out);
    for (let day = 1; day < 4; day++) {
      const batchAt = start + (day * DAY + 600) * 1000;
      const ready = out.decisions.filter((d) => d.metadata['trigger'] === 'recurring' && Date.parse(d.sample_at) < batchAt && Date.parse(d.sample_at) >= batchAt - 120_000);
      expect(ready, `day ${day + 1}`).toHaveLength(1);
      expect(ready[0]?.action).toBe('increase');
      // 20 MB/s x 30 s in whole segments: 1200 MB, x 1.15
      expect(ready[0]?.new_size_mb).toBeGreaterThanOrEqual(1200);
    }
    // none on the first day: nothing to remember yet
    expect(out.decisions.filter((d) => d.metadata['trigger'] === 'recurring' && Date.parse(d.sample_at) < start + DAY * 1000)).toEqual([]);
    // the table says so too
    const table = await run([...args, '--decisions']);
    expect(table.stdout).toContain('recurring: a load that needed');
    // and without the memory, no such decision
    const off = await run(['--file', file, '--algorithm', 'adaptive', '--set', 'walrus.recurring_period_sec=0', '--json']);
    expect(off.stdout).not.toContain('recurring');
  });

  it('simulate - usage and configuration errors', async () => {
    expect((await run([])).code).toBe(64);
    expect((await run(['--file', 'x', '--algorithm', 'fibonacci'])).stderr).toContain('unknown algorithm "fibonacci"');
    expect((await run(['--file', 'x', '--set', 'max=1'])).code).toBe(64);
    const bad = await run(['--file', 'x'], { WALRUS_THRESHOLD: '0' });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('WALRUS_THRESHOLD');
    expect((await run(['--help'])).stdout).toContain('Usage: walrus simulate');
  });
});

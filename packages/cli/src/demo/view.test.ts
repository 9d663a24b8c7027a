import { assert, describe, expect, it } from 'vitest';
import type { Snapshot } from './state.js';
import { clock, eventText, fit, headerLines, progressText, renderFrame, type DemoInfo } from './view.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

const snapshot: Snapshot = {
  elapsedMs: 83_000,
  maxWalSizeMb: 256,
  sizes: [32, 64, 128, 256],
  forced: 9,
  timed: 1,
  forcedLastMinute: 2,
  walBytesPerSec: 4.1 * 1024 ** 2,
  lastForcedAgoMs: 12_000,
  timedSinceLastForced: 0,
  checkpointTimeoutSec: 30,
  phase: 'forced',
  timedSinceMs: null,
  decisions: 4,
  appliedChanges: 3,
  timeline: '····F···F···T',
  events: [
    { kind: 'decision', atMs: T0 + 7_000, id: 'x', action: 'increase', oldMb: 32, newMb: 64, forced: 1, reason: 'because', blockedBy: null },
    { kind: 'applied', atMs: T0 + 8_000, decisionId: 'x', status: 'applied', maxWalSizeMb: 64, error: null },
  ],
};

const info: DemoInfo = {
  version: 17,
  pageUrl: 'http://127.0.0.1:9105/',
  pgBinDir: null,
  natsPid: 101,
  natsUrl: 'nats://127.0.0.1:1',
  pgPid: 202,
  pgUrl: 'postgres://postgres@127.0.0.1:2/postgres',
  tempDir: '/dev/shm/walrus-demo-x',
  logFile: '/dev/shm/walrus-demo-x/walrus.log',
  initialMaxWalSizeMb: 32,
  checkpointTimeoutSec: 30,
  sampleIntervalSec: 3,
  threshold: 1,
  cooldownSec: 10,
  loadMbPerSec: 4,
  loadConnections: 2,
  durationSec: null,
};

describe('demo view - text', () => {
  it('demo view - clock is mm:ss, h:mm:ss from an hour on', () => {
    expect(clock(83_400)).toBe('01:23');
    expect(clock(3_723_000)).toBe('1:02:03');
  });

  it('demo view - plain lines name what happened', () => {
    const [decision, applied] = snapshot.events;
    assert(decision && applied);
    expect(eventText(decision, T0)).toBe('[00:07] decision increase 32MB -> 64MB: because');
    expect(eventText(applied, T0)).toBe('[00:08] applied: max_wal_size = 64MB');
    expect(progressText(snapshot)).toBe('[01:23] max_wal_size 256MB · checkpoints forced 9, timed 1 · forced in the last minute 2 · WAL 4.1 MB/s · forced');
  });

  it('demo view - fit cuts visible characters and keeps escape sequences', () => {
    expect(fit('abcdef', 4)).toBe('abc…');
    expect(fit('\x1b[1mabc\x1b[22mdef', 4)).toBe('\x1b[1mabc\x1b[22m…');
    expect(fit('abc', 4)).toBe('abc');
  });
});

describe('demo view - frame', () => {
  it('demo view - no line is wider than the terminal, with or without colour', () => {
    for (const color of [false, true]) {
      const lines = renderFrame(snapshot, info, { width: 60, color, startedAtMs: T0 });
      for (const l of lines) expect(l.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length).toBeLessThanOrEqual(60);
    }
  });

  it('demo view - shows the size history, the counters, the phase and the events', () => {
    const text = renderFrame(snapshot, info, { width: 140, color: false, startedAtMs: T0 }).join('\n');
    expect(text).toContain('32 → 64 → 128 → 256MB · 3 changes applied');
    expect(text).toContain('forced 9 · timed 1 · forced in the last minute 2 · last forced 12 s ago');
    expect(text).toContain('checkpoints are forced');
    expect(text).toMatch(/00:08 {2}outcome {2}applied +max_wal_size = 64MB/);
    const timed = renderFrame({ ...snapshot, phase: 'timed', lastForcedAgoMs: 45_000, timedSinceLastForced: 1 }, info, { width: 140, color: false, startedAtMs: T0 });
    expect(timed.join('\n')).toContain('✔ checkpoints are timed again: no forced checkpoint for 45 s, 1 timed since; max_wal_size 256MB');
  });

  it('demo view - the live page address is in the header and in the frame', () => {
    expect(headerLines(info).join('\n')).toMatch(/^ {2}live page +http:\/\/127\.0\.0\.1:9105\/$/m);
    expect(renderFrame(snapshot, info, { width: 140, color: false, startedAtMs: T0 }).join('\n')).toContain('live page http://127.0.0.1:9105/');
  });

  it('demo view - as root, the header says PostgreSQL runs as the postgres user from a copy; otherwise not', () => {
    expect(headerLines(info).join('\n')).not.toContain('postgres OS user');
    const root = headerLines({ ...info, pgBinDir: '/var/cache/walrus/postgres/linux-x64-17.10.0-beta.17' }).join('\n');
    expect(root).toMatch(/^ {2}PostgreSQL runs as +the postgres OS user, from a copy of its binaries in \/var\/cache\/walrus\/postgres\/linux-x64-17\.10\.0-beta\.17$/m);
  });
});

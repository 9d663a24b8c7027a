/**
 * `pnpm bench:quality:report DIR` recomputes a run's tables from its raw
 * output alone. The fixture (fixtures/results-steady) is a real short run,
 * `pnpm bench:quality --shape steady --arms adaptive --duration 90`, with
 * its walrus recordings left out; its report.md is what the report printed.
 * After a change to the figures or their format, print it again:
 * `pnpm bench:quality:report bench/quality/fixtures/results-steady > bench/quality/fixtures/results-steady/report.md`.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderReport } from './report.js';
import { readResults } from './results.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'results-steady');
const ADAPTIVE = '04-steady-adaptive';
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

function copyOfFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'walrus-report-test-'));
  temps.push(dir);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

/** The adaptive arm's row of the steady table, as cells. */
function adaptiveRow(report: string): string[] {
  const row = report.split('\n').find((l) => l.startsWith('| adaptive'));
  if (!row) throw new Error('no adaptive row');
  return row.split('|').slice(1, -1).map((c) => c.trim());
}

describe('bench quality - the report recomputed from raw output', () => {
  it('report - the same tables and goals as the run printed', () => {
    expect(renderReport(readResults(FIXTURE))).toBe(readFileSync(join(FIXTURE, 'report.md'), 'utf8'));
  });

  it('report - forced checkpoints and WAL per transaction come from the raw log and points, counted here by hand', () => {
    const arm = JSON.parse(readFileSync(join(FIXTURE, ADAPTIVE, 'arm.json'), 'utf8')) as { t0Ms: number; load: { durationSec: number } };
    const log = readFileSync(join(FIXTURE, ADAPTIVE, 'checkpoints.log'), 'utf8').split('\n');
    const startOf = (l: string): number => Date.parse(`${l.slice(0, 23).replace(' ', 'T')}Z`);
    const inLoad = (l: string): boolean => startOf(l) >= arm.t0Ms && startOf(l) <= arm.t0Ms + arm.load.durationSec * 1000;
    const forced = log.filter((l) => l.includes('checkpoint starting: wal') && inLoad(l)).length;
    const row = adaptiveRow(renderReport(readResults(FIXTURE)));
    expect(row[1]).toBe(String(forced));
    expect(forced).toBeGreaterThan(0);

    // WAL of the whole cycles: the redo LSN of the first checkpoint (the CHECKPOINT at t = 0) to that of the last one started in the load.
    const redo = log.filter((l) => l.includes('checkpoint complete')).map((l) => /redo lsn=([0-9A-F]+)\/([0-9A-F]+)/.exec(l));
    const starts = log.filter((l) => l.includes('checkpoint starting'));
    // ... started before the load's last half second, and by the last whole number of checkpoint_timeouts (30 s) + 5 s.
    const windowEnd = Math.min(arm.load.durationSec - 0.5, Math.floor((arm.load.durationSec - 5) / 30) * 30 + 5);
    const lastInLoad = starts.filter((l) => startOf(l) < arm.t0Ms + windowEnd * 1000).length - 1;
    const bytes = (m: RegExpExecArray | null | undefined): number => parseInt(m?.[1] ?? '', 16) * 2 ** 32 + parseInt(m?.[2] ?? '', 16);
    const walBytes = bytes(redo[lastInLoad]) - bytes(redo[0]);
    const points = readFileSync(join(FIXTURE, ADAPTIVE, 'points.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: number; xacts: number });
    const tEnd = (startOf(starts[lastInLoad] ?? '') - arm.t0Ms) / 1000;
    const after = points.findIndex((p) => p.t >= tEnd);
    const a = points[after - 1];
    const b = points[after];
    if (!a || !b) throw new Error('no points around the window end');
    const xacts = a.xacts + ((b.xacts - a.xacts) * (tEnd - a.t)) / (b.t - a.t) - (points[0]?.xacts ?? 0);
    expect(row[5]).toBe(`${(walBytes / xacts / 1024).toFixed(2)} kB`);
  });

  it('report - reads the raw files, not a figure kept elsewhere: a log without the forced lines reports none', () => {
    const dir = copyOfFixture();
    const file = join(dir, ADAPTIVE, 'checkpoints.log');
    const kept = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => !l.includes('checkpoint starting: wal'));
    writeFileSync(file, kept.join('\n'));
    const row = adaptiveRow(renderReport(readResults(dir)));
    expect(row[1]).toBe('0');
    expect(row[3]).toBe('none forced');
  });

  it('report - a run that lists an arm whose directory is missing is refused, naming it', () => {
    const dir = copyOfFixture();
    rmSync(join(dir, ADAPTIVE), { recursive: true });
    expect(() => readResults(dir)).toThrow(new RegExp(`lists ${ADAPTIVE}, which is not there`));
  });
});

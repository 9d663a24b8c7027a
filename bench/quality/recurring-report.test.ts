/**
 * The recurring shape's report recomputed from raw output. The fixture
 * (fixtures/results-recurring) is a real smoke run,
 * `pnpm bench:quality --shape recurring --period 240 --batch 40 --days 2`,
 * with its walrus recordings left out; its report.md is what the report
 * printed. After a change to the figures or their format, print it again:
 * `pnpm bench:quality:report bench/quality/fixtures/results-recurring > bench/quality/fixtures/results-recurring/report.md`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReport } from './report.js';
import { readResults } from './results.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'results-recurring');
const ARM = '01-recurring-adaptive';

/** The recurring table's rows, as cells. */
function batchRows(report: string): string[][] {
  return report
    .split('\n')
    .filter((l) => l.startsWith('| adaptive (sample'))
    .map((row) => row.split('|').slice(1, -1).map((c) => c.trim()));
}

describe('bench quality - the recurring report recomputed from raw output', () => {
  it('report - the same table and goals as the run printed', () => {
    expect(renderReport(readResults(FIXTURE))).toBe(readFileSync(join(FIXTURE, 'report.md'), 'utf8'));
  });

  it('report - per batch, the forced checkpoints of the log and the size before its start, counted here by hand', () => {
    const arm = JSON.parse(readFileSync(join(FIXTURE, ARM, 'arm.json'), 'utf8')) as { t0Ms: number; load: { batches: { start: number; end: number }[] } };
    const log = readFileSync(join(FIXTURE, ARM, 'checkpoints.log'), 'utf8').split('\n');
    const startOf = (l: string): number => (Date.parse(`${l.slice(0, 23).replace(' ', 'T')}Z`) - arm.t0Ms) / 1000;
    const walForced = log.filter((l) => l.includes('checkpoint starting: wal')).map(startOf);
    // The run's one WAL-forced checkpoint came before the first batch (at 32 MB): none in either batch.
    expect(walForced.length).toBeGreaterThan(0);
    const points = readFileSync(join(FIXTURE, ARM, 'points.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: number; maxWalSizeMb: number });
    const rows = batchRows(renderReport(readResults(FIXTURE)));
    expect(rows).toHaveLength(arm.load.batches.length);
    arm.load.batches.forEach((b, i) => {
      expect(rows[i]?.[2]).toBe(String(walForced.filter((t) => t >= b.start && t <= b.end).length));
      const before = points.filter((p) => p.t <= b.start - 0.5).at(-1);
      expect(rows[i]?.[5]).toBe(`${before?.maxWalSizeMb} MB`);
    });
    // The second batch found the size the memory had prepared; the first did not.
    expect(rows.map((r) => Number.parseInt(r[5] ?? '', 10) >= Number.parseInt(r[4] ?? '', 10))).toEqual([false, true]);
  });
});

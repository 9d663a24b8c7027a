import { nearestRank } from '@walrus/core';
import { formatTable } from '@walrus/runtime';

/** Order statistics of a set of durations (milliseconds). */
export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles (@walrus/core's nearestRank): values that were actually measured. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => nearestRank(sorted, p) ?? NaN;
  return {
    count: sorted.length,
    p50: rank(50),
    p90: rank(90),
    p99: rank(99),
    max: sorted.at(-1) ?? NaN,
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
  };
}

export interface Row {
  label: string;
  summary: Summary;
}

const fmt = (ms: number): string => (Number.isNaN(ms) ? '-' : ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

/** A fixed-width text table: stage, count, p50, p90, p99, max (ms). */
export function formatStages(rows: readonly Row[]): string {
  const header = ['stage', 'count', 'p50', 'p90', 'p99', 'max'];
  const cells = rows.map((r) => [
    r.label,
    String(r.summary.count),
    fmt(r.summary.p50),
    fmt(r.summary.p90),
    fmt(r.summary.p99),
    fmt(r.summary.max),
  ]);
  return formatTable(header, cells, { align: header.map((_, i) => (i === 0 ? 'left' : 'right')) });
}

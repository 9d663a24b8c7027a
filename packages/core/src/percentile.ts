/**
 * Nearest-rank percentile (p from 0 to 100) of values sorted ascending: the
 * smallest value with at least p % of the values at or below it. Always a
 * value that was measured, never an interpolation that would flatter a tail:
 * p99 of 200 values is the 198th smallest. Undefined for no values.
 */
export function nearestRank(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** The nearest-rank percentile of values in any order; null for none. */
export function percentileOf(values: readonly number[], p: number): number | null {
  return nearestRank([...values].sort((a, b) => a - b), p) ?? null;
}

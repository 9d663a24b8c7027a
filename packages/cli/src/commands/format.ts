/** Plain-text tables for people; `--json` prints the answer as it came. */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/** Two columns: name and value, for one object. */
export function keyValues(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

export const mb = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : `${v} MB`);
export const yesNo = (v: boolean | null | undefined): string => (v === null || v === undefined ? 'unknown' : v ? 'yes' : 'no');
export const text = (v: unknown): string => (v === null || v === undefined ? '-' : String(v));
export const age = (sec: number | null | undefined): string =>
  sec === null || sec === undefined ? '-' : sec < 120 ? `${sec}s` : sec < 7200 ? `${Math.round(sec / 60)}m` : `${Math.round(sec / 3600)}h`;

/** A WAL rate in bytes per second, in the units max_wal_size is read in (1 MB = 1024 kB). */
export const rate = (bytesPerSec: number | null | undefined): string => {
  if (bytesPerSec === null || bytesPerSec === undefined) return '-';
  if (bytesPerSec < 1024) return `${Math.round(bytesPerSec)} B/s`;
  if (bytesPerSec < 1024 * 1024) return `${(bytesPerSec / 1024).toFixed(1)} kB/s`;
  return `${(bytesPerSec / (1024 * 1024)).toFixed(1)} MB/s`;
};

// How the control commands print values; tables and key/value lists come from @walrus/runtime's formatTable and formatKeyValues.
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

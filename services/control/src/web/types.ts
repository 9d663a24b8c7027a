// What the live page's API answers (/api/series); app.js takes these types through JSDoc.

export interface SeriesPoint {
  t: string;
  max_wal_size_mb: number;
  checkpoints_requested: number;
  /** Requested checkpoints since the previous sample; null for the first one or after a counter reset. */
  forced: number | null;
}

export interface SeriesDecision {
  /** sample_at: a decision belongs to the interval its sample closed. */
  t: string;
  id: string;
  action: string;
  old_size_mb: number;
  new_size_mb: number;
  reason: string;
  apply_status: string | null;
  /** What the change did, once judged (walrus.effect.<cluster>): "helped: forced/h 120 -> 0", null before. */
  effect: string | null;
}

export interface Series {
  cluster: string;
  since: string;
  points: SeriesPoint[];
  decisions: SeriesDecision[];
}

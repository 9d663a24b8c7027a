import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientBase } from 'pg';

/** One observation of the server, taken every second by the benchmark itself (not by walrus). */
export interface Point {
  /** Seconds since load start (negative before it). */
  t: number;
  requested: number;
  timed: number;
  walBytes: number;
  maxWalSizeMb: number;
  /** Transactions committed in the load's database (pg_stat_database.xact_commit; a backend reports at most once a second). */
  xacts: number;
  /** Full-page images written so far (pg_stat_wal.wal_fpi). */
  fpi: number;
}

/** The database every load runs in: its commit count is the loads' alone, not walrus's or the monitor's. */
export const LOAD_DATABASE = 'bench';

const SQL = `SELECT num_requested::text AS requested, num_timed::text AS timed,
  (pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS wal,
  (SELECT setting FROM pg_settings WHERE name = 'max_wal_size') AS mws,
  (SELECT coalesce(sum(xact_commit), 0) FROM pg_stat_database WHERE datname = '${LOAD_DATABASE}')::text AS xacts,
  (SELECT wal_fpi FROM pg_stat_wal)::text AS fpi
  FROM pg_stat_checkpointer`;

export async function observe(client: ClientBase, t: number): Promise<Point> {
  const { rows } = await client.query<{ requested: string; timed: string; wal: string; mws: string; xacts: string; fpi: string }>(SQL);
  const r = rows[0];
  if (!r) throw new Error('no row from the monitor query');
  return { t, requested: Number(r.requested), timed: Number(r.timed), walBytes: Number(r.wal), maxWalSizeMb: Number(r.mws), xacts: Number(r.xacts), fpi: Number(r.fpi) };
}

/** Polls every second until stopped; the points come back in order. */
export class Monitor {
  readonly points: Point[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly client: ClientBase,
    private readonly startMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), 1000);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      this.points.push(await observe(this.client, (Date.now() - this.startMs) / 1000));
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await sleep(50);
    await this.tick();
  }
}

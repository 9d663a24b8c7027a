import pg from 'pg';
import { ApiFailure, type CleanupResult, type HistoryResult, type HistoryRow } from '@walrus/core';

/**
 * Reads walrus.history (kept by the historian) and runs its
 * walrus.cleanup_history(). The control service only reads and cleans: the
 * historian owns and migrates the schema.
 */
export class HistoryDb {
  private readonly pool: pg.Pool;

  constructor(databaseUrl: string) {
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 2,
      connectionTimeoutMillis: 5000,
      statement_timeout: 15_000,
      application_name: 'walrus-control',
    });
    this.pool.on('error', () => undefined);
    // Also a held client's (pg-pool listens on idle ones only): a session the
    // server ends between two queries must fail the next query, not crash the process.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async history(cluster: string | undefined, limit: number): Promise<HistoryResult> {
    const { rows } = await this.query<HistoryRow & { timestamp: Date; applied_at: Date | null; forced_checkpoints: string }>(
      // The member and effect columns through to_jsonb: a history database not
      // yet migrated by a newer historian has no such columns, and reads as NULL.
      `SELECT timestamp, cluster, decision_id, action, old_size_mb, new_size_mb, forced_checkpoints,
              checkpoint_timeout_sec, reason, metadata, apply_status, applied_at, applied_size_mb, apply_error,
              to_jsonb(h) ->> 'primary_member' AS primary_member, to_jsonb(h) ->> 'target_member' AS target_member,
              to_jsonb(h) -> 'apply_members' AS apply_members, to_jsonb(h) -> 'effect' AS effect
         FROM walrus.history AS h
        WHERE ($1::text IS NULL OR cluster = $1)
        ORDER BY timestamp DESC, id DESC
        LIMIT $2`,
      [cluster ?? null, limit],
    );
    return {
      cluster: cluster ?? null,
      limit,
      rows: rows.map((r) => ({
        ...r,
        timestamp: r.timestamp.toISOString(),
        applied_at: r.applied_at ? r.applied_at.toISOString() : null,
        forced_checkpoints: Number(r.forced_checkpoints),
      })),
    };
  }

  async cleanup(retentionDays: number | undefined): Promise<CleanupResult> {
    const { rows } = await this.query<{ deleted: string }>('SELECT walrus.cleanup_history($1) AS deleted', [retentionDays ?? null]);
    return { deleted: Number(rows[0]?.deleted ?? 0), retention_days: retentionDays ?? null };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      // 3F000 / 42P01 / 42883: schema, table or function missing — the historian has not run yet.
      if (e.code === '3F000' || e.code === '42P01' || e.code === '42883') {
        throw new ApiFailure('unavailable', `the history database has no walrus schema yet (start the historian): ${e.message}`, { cause: err });
      }
      throw new ApiFailure('failed', `history database: ${e.message ?? String(err)}`, { cause: err });
    }
  }
}

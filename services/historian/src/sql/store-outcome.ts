import type { ApplyResult } from '@walrus/core';
import type { PoolClient } from 'pg';

/**
 * Records an apply outcome on its decision's row, or keeps it aside until the
 * decision arrives. Returns where it went and whether anything changed. An
 * `applied` outcome is final: the server really changed, so a later report
 * for the same decision (a redelivery after expiry, say) never replaces it.
 * Must run inside a transaction holding lockDecision().
 */
export async function storeOutcome(
  client: PoolClient,
  r: ApplyResult,
): Promise<{ where: 'history' | 'pending'; changed: boolean; action: string | null }> {
  const existing = await client.query<{ action: string; apply_status: string | null }>(
    'SELECT action, apply_status FROM walrus.history WHERE decision_id = $1',
    [r.decision_id],
  );
  const row = existing.rows[0];
  if (row) {
    if (row.apply_status === 'applied' || row.apply_status === r.status) {
      return { where: 'history', changed: false, action: row.action };
    }
    await client.query(
      `UPDATE walrus.history
          SET apply_status = $2, applied_at = $3, applied_size_mb = $4, apply_error = $5, apply_members = $6, applied_slot_keep_mb = $7
        WHERE decision_id = $1`,
      [r.decision_id, r.status, r.applied_at, r.max_wal_size_mb, r.error, membersOf(r), r.max_slot_wal_keep_size_mb ?? null],
    );
    return { where: 'history', changed: true, action: row.action };
  }
  const pending = await client.query(
    `INSERT INTO walrus.pending_outcomes (decision_id, cluster, apply_status, applied_at, applied_size_mb, apply_error, apply_members, applied_slot_keep_mb)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (decision_id) DO UPDATE
       SET apply_status = EXCLUDED.apply_status, applied_at = EXCLUDED.applied_at,
           applied_size_mb = EXCLUDED.applied_size_mb, apply_error = EXCLUDED.apply_error,
           apply_members = EXCLUDED.apply_members, applied_slot_keep_mb = EXCLUDED.applied_slot_keep_mb
       WHERE walrus.pending_outcomes.apply_status <> 'applied'`,
    [r.decision_id, r.cluster, r.status, r.applied_at, r.max_wal_size_mb, r.error, membersOf(r), r.max_slot_wal_keep_size_mb ?? null],
  );
  return { where: 'pending', changed: (pending.rowCount ?? 0) > 0, action: null };
}

/** Each member's part (clusters of several members), as JSON; null when the outcome does not list them. */
function membersOf(r: ApplyResult): string | null {
  return r.members === undefined ? null : JSON.stringify(r.members);
}

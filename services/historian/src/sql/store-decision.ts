import type { Decision } from '@walrus/core';
import type { PoolClient } from 'pg';

export interface StoredRow {
  id: string;
  apply_status: string | null;
}

/**
 * Inserts a decision once (decision_id is unique) and merges an outcome that
 * arrived before it. Returns null when the decision was already stored.
 * Must run inside a transaction holding lockDecision(). The typed fields go
 * to their own columns (the sizing ones feed walrus.status, migration 006);
 * the metadata is stored as it came, for people.
 */
export async function storeDecision(client: PoolClient, d: Decision): Promise<StoredRow | null> {
  const sizing = d.sizing_status;
  const requiredMb = sizing?.required_size_mb ?? null;
  const inserted = await client.query<StoredRow>(
    `INSERT INTO walrus.history
       (timestamp, cluster, decision_id, action, old_size_mb, new_size_mb, forced_checkpoints,
        checkpoint_timeout_sec, reason, metadata, primary_member, target_member,
        sizing_reported, active_profile, wal_rate_bytes_per_second, wal_rate_ema_bytes_per_second, required_size_mb,
        slot_keep_mb)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     ON CONFLICT (decision_id) DO NOTHING
     RETURNING id, apply_status`,
    [
      d.decided_at,
      d.cluster,
      d.id,
      d.action,
      d.old_size_mb,
      d.new_size_mb,
      d.forced_checkpoints,
      d.checkpoint_timeout_sec,
      d.reason,
      { ...d.metadata, algorithm: d.algorithm, sample_at: d.sample_at },
      d.primary_member ?? null,
      d.target_member ?? null,
      sizing !== undefined,
      sizing?.active_profile ?? null,
      sizing?.wal_rate_bytes_per_second ?? null,
      sizing?.wal_rate_ema_bytes_per_second ?? null,
      // The column is whole MB, as the status view has always shown it.
      requiredMb === null ? null : Math.round(requiredMb),
      d.max_slot_wal_keep_size_mb ?? null,
    ],
  );
  const row = inserted.rows[0];
  if (!row) return null;
  const merged = await client.query<StoredRow>(
    `WITH p AS (DELETE FROM walrus.pending_outcomes WHERE decision_id = $1 RETURNING *)
     UPDATE walrus.history h
        SET apply_status = p.apply_status, applied_at = p.applied_at,
            applied_size_mb = p.applied_size_mb, apply_error = p.apply_error,
            apply_members = p.apply_members, applied_slot_keep_mb = p.applied_slot_keep_mb
       FROM p
      WHERE h.decision_id = p.decision_id
     RETURNING h.id, h.apply_status`,
    [d.id],
  );
  return merged.rows[0] ?? row;
}

import type { Alert } from '@walrus/core';
import type { PoolClient } from 'pg';

/**
 * Inserts an alert event once (alert_id is unique). Returns false when it
 * was already stored (a redelivery), so that it is relayed with NOTIFY once.
 */
export async function storeAlert(client: PoolClient, a: Alert): Promise<boolean> {
  const { rowCount } = await client.query(
    `INSERT INTO walrus.alerts (alert_id, timestamp, cluster, kind, state, slot, detail, payload)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (alert_id) DO NOTHING`,
    [a.id, a.at, a.cluster, a.kind, a.state, a.slot ?? null, a.detail, a],
  );
  return rowCount === 1;
}

/** walrus.cleanup_alerts(): alert events older than the retention; returns how many went. */
export async function cleanupAlerts(client: Pick<PoolClient, 'query'>, retentionDays?: number): Promise<number> {
  const { rows } = await client.query<{ deleted: string }>('SELECT walrus.cleanup_alerts($1) AS deleted', [retentionDays ?? null]);
  return Number(rows[0]?.deleted ?? 0);
}

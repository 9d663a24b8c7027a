import type { Effect } from '@walrus/core';
import type { PoolClient } from 'pg';

/**
 * Records a change's effect on its decision's row (migration 008), once:
 * returns `stored`, `duplicate` (already there: a redelivery), or `missing`
 * (no such decision row yet, or no longer: retention).
 */
export async function storeEffect(client: Pick<PoolClient, 'query'>, e: Effect): Promise<'stored' | 'duplicate' | 'missing'> {
  const { rowCount } = await client.query(
    `UPDATE walrus.history SET effect = $2, effect_verdict = $3, effect_flag = $4
      WHERE decision_id = $1 AND effect IS NULL`,
    [e.decision_id, e, e.verdict, e.flag],
  );
  if (rowCount === 1) return 'stored';
  const { rows } = await client.query('SELECT 1 FROM walrus.history WHERE decision_id = $1', [e.decision_id]);
  return rows.length > 0 ? 'duplicate' : 'missing';
}

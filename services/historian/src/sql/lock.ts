import type { PoolClient } from 'pg';

/**
 * Serializes the work on one decision id across historians: a decision and
 * its outcome processed at the same moment would otherwise both miss each
 * other (the outcome sees no row yet, the decision sees no pending outcome).
 */
export async function lockDecision(client: PoolClient, decisionId: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))', [decisionId]);
}

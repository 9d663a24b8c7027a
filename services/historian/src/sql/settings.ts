import type { Pool } from 'pg';

/** Publishes the historian's own settings to SQL users (walrus.settings). */
export async function saveSettings(pool: Pool, settings: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(settings)) {
    await pool.query(
      `INSERT INTO walrus.settings (name, value) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [name, value],
    );
  }
}

export async function cleanupHistory(pool: Pool, retentionDays?: number): Promise<number> {
  const { rows } = await pool.query<{ deleted: string }>('SELECT walrus.cleanup_history($1) AS deleted', [
    retentionDays ?? null,
  ]);
  return Number(rows[0]?.deleted ?? 0);
}

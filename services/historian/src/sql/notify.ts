import type { PoolClient } from 'pg';

export interface HistoryEvent {
  event: 'decision' | 'outcome';
  cluster: string;
  decision_id: string;
  action: string | null;
  old_size_mb: number | null;
  new_size_mb: number | null;
  forced_checkpoints: number | null;
  apply_status: string | null;
  max_wal_size_mb: number | null;
  error: string | null;
  time: string;
}

/** An alert event (walrus.alert.<cluster>) as relayed on the channel. */
export interface AlertEvent {
  event: 'alert';
  cluster: string;
  alert_id: string;
  kind: string;
  state: string;
  slot: string | null;
  retained_bytes: number | null;
  detail: string;
  time: string;
}

/** A change's effect (walrus.effect.<cluster>) as relayed on the channel. */
export interface EffectEvent {
  event: 'effect';
  cluster: string;
  decision_id: string;
  verdict: string;
  flag: string | null;
  reason: string;
  time: string;
}

/**
 * NOTIFY inside the storing transaction: listeners hear of a row only once
 * it is committed, and never of a rolled-back one.
 */
export async function notifyEvent(client: PoolClient, channel: string, event: HistoryEvent | AlertEvent | EffectEvent): Promise<void> {
  // PostgreSQL limits a payload to 8000 bytes; an error text (or an alert's detail) is the only long part.
  const payload = JSON.stringify(
    event.event === 'alert'
      ? { ...event, detail: event.detail.slice(0, 2000) }
      : event.event === 'effect'
        ? { ...event, reason: event.reason.slice(0, 2000) }
        : { ...event, error: event.error?.slice(0, 2000) ?? null },
  );
  await client.query('SELECT pg_notify($1, $2)', [channel, payload]);
}

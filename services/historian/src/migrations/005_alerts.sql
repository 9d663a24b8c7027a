-- walrus.alerts (ARCHITECTURE §7): one row per alert event from
-- walrus.alert.<cluster> (a condition starting, "firing", or ending,
-- "resolved"), stored once whatever is redelivered: alert_id is derived by
-- the decider from the cluster, kind, slot, state and sample time.
CREATE TABLE IF NOT EXISTS walrus.alerts (
  id BIGSERIAL PRIMARY KEY,
  alert_id UUID NOT NULL UNIQUE,
  timestamp TIMESTAMPTZ NOT NULL,          -- the alert's "at": the sample that showed it
  received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  cluster TEXT NOT NULL,
  kind TEXT NOT NULL,                      -- slot_retention archiver_failing wal_disk_budget
  state TEXT NOT NULL,                     -- firing resolved
  slot TEXT,                               -- slot_retention: the slot
  detail TEXT NOT NULL,
  payload JSONB NOT NULL                   -- the whole message (retained_bytes, budget_bytes, ...)
);

CREATE INDEX IF NOT EXISTS alerts_cluster_timestamp_idx ON walrus.alerts (cluster, timestamp DESC);
CREATE INDEX IF NOT EXISTS alerts_timestamp_idx ON walrus.alerts (timestamp);

-- What is firing now: the latest event of each (cluster, kind, slot), when it is "firing".
CREATE OR REPLACE VIEW walrus.alerts_firing AS
SELECT cluster, kind, slot, timestamp AS since, detail, payload
  FROM (SELECT DISTINCT ON (cluster, kind, coalesce(slot, '')) *
          FROM walrus.alerts
         ORDER BY cluster, kind, coalesce(slot, ''), timestamp DESC, id DESC) AS latest
 WHERE state = 'firing'
 ORDER BY since DESC;

-- Deletes alert events older than the retention (days; 0 = everything older
-- than now), by default the historian's walrus.history_retention_days, and
-- returns how many. Kept apart from walrus.cleanup_history(), whose meaning
-- (history rows deleted) stays as it was; the historian runs both.
CREATE OR REPLACE FUNCTION walrus.cleanup_alerts(retention_days integer DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  days integer := COALESCE(
    retention_days,
    (SELECT value::integer FROM walrus.settings WHERE name = 'history_retention_days'),
    7);
  deleted bigint;
BEGIN
  IF days < 0 THEN
    RAISE EXCEPTION 'retention_days must be 0 or more (got %)', days;
  END IF;
  DELETE FROM walrus.alerts WHERE timestamp < now() - make_interval(days => days);
  GET DIAGNOSTICS deleted = ROW_COUNT;
  RETURN deleted;
END;
$$;

-- walrus.history as fixed by ARCHITECTURE §5, plus what the historian needs
-- to record an outcome that arrives before its decision.
CREATE SCHEMA IF NOT EXISTS walrus;

CREATE TABLE IF NOT EXISTS walrus.history (
  id BIGSERIAL PRIMARY KEY,
  timestamp TIMESTAMPTZ NOT NULL DEFAULT now(),
  cluster TEXT NOT NULL,
  decision_id UUID NOT NULL UNIQUE,
  action TEXT NOT NULL,
  old_size_mb INTEGER NOT NULL,
  new_size_mb INTEGER NOT NULL,
  forced_checkpoints BIGINT NOT NULL,
  checkpoint_timeout_sec INTEGER NOT NULL,
  reason TEXT,
  metadata JSONB,
  apply_status TEXT,
  applied_at TIMESTAMPTZ
);

CREATE INDEX IF NOT EXISTS history_cluster_timestamp_idx ON walrus.history (cluster, timestamp DESC);
CREATE INDEX IF NOT EXISTS history_timestamp_idx ON walrus.history (timestamp);

-- Why an apply failed, or what it read back: the ApplyResult's details.
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS apply_error TEXT;
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS applied_size_mb INTEGER;

-- Outcomes whose decision is not stored yet (JetStream does not order the
-- two subjects for us across publishers). Merged when the decision arrives.
CREATE TABLE IF NOT EXISTS walrus.pending_outcomes (
  decision_id UUID PRIMARY KEY,
  cluster TEXT NOT NULL,
  apply_status TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL,
  applied_size_mb INTEGER,
  apply_error TEXT,
  received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Settings the historian was started with, so that SQL users and
-- walrus.cleanup_history() see the same retention as the service.
CREATE TABLE IF NOT EXISTS walrus.settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Deletes history older than the retention (days; 0 = everything older than
-- now) and returns how many rows went. Without an argument the historian's
-- configured walrus.history_retention_days is used.
CREATE OR REPLACE FUNCTION walrus.cleanup_history(retention_days integer DEFAULT NULL)
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
  DELETE FROM walrus.history WHERE timestamp < now() - make_interval(days => days);
  GET DIAGNOSTICS deleted = ROW_COUNT;
  -- Outcomes whose decision never came are kept as long as history is.
  DELETE FROM walrus.pending_outcomes WHERE received_at < now() - make_interval(days => days);
  RETURN deleted;
END;
$$;

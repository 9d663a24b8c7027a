-- What the engine measured as of each decision, in typed columns of
-- walrus.history: decisions carry it as the typed field `sizing_status`
-- (docs/ARCHITECTURE.md, "Additions"), and the historian writes the columns
-- from it. walrus.status reads these columns instead of parsing the
-- metadata JSON (migration 003 did), which is now informational only.
-- `sizing_reported` tells a decision that carried no sizing status (one of
-- the member rules, or from a decider before migration 003's time), which
-- leaves the status's values as they were, from a status of all nulls
-- (nothing measured yet), which it shows.
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS sizing_reported BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS active_profile TEXT;
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS wal_rate_bytes_per_second DOUBLE PRECISION;
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS wal_rate_ema_bytes_per_second DOUBLE PRECISION;
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS required_size_mb INTEGER;

-- Decisions stored before this migration: once, from the metadata they were stored with.
UPDATE walrus.history SET
  sizing_reported = true,
  active_profile = CASE WHEN jsonb_typeof(metadata->'sizing_status'->'active_profile') = 'string'
                        THEN metadata->'sizing_status'->>'active_profile' END,
  wal_rate_bytes_per_second = CASE WHEN jsonb_typeof(metadata->'sizing_status'->'wal_rate_bytes_per_second') = 'number'
                                   THEN (metadata->'sizing_status'->>'wal_rate_bytes_per_second')::double precision END,
  wal_rate_ema_bytes_per_second = CASE WHEN jsonb_typeof(metadata->'sizing_status'->'wal_rate_ema_bytes_per_second') = 'number'
                                       THEN (metadata->'sizing_status'->>'wal_rate_ema_bytes_per_second')::double precision END,
  required_size_mb = CASE WHEN jsonb_typeof(metadata->'sizing_status'->'required_size_mb') = 'number'
                          THEN round((metadata->'sizing_status'->>'required_size_mb')::numeric)::integer END
 WHERE NOT sizing_reported AND jsonb_typeof(metadata->'sizing_status') = 'object';

-- The trigger of 003, now on the columns. After walrus.track_status()
-- (triggers of one event fire in name order), so the cluster's row exists
-- and names its latest decision; a decision stored late (an older one
-- redelivered) is not the latest and changes nothing.
CREATE OR REPLACE FUNCTION walrus.track_status_sizing() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF NEW.sizing_reported THEN
    UPDATE walrus.cluster_status s SET
      wal_rate_bytes_per_second = NEW.wal_rate_bytes_per_second,
      required_size_mb = NEW.required_size_mb,
      active_profile = NEW.active_profile,
      sizing_at = NEW.timestamp
    WHERE s.cluster = NEW.cluster AND s.last_decision_id = NEW.decision_id;
  END IF;
  RETURN NULL;
END;
$$;

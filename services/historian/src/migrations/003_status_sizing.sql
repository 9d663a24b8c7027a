-- walrus.status learns what the engine measured: the WAL rate, the size it
-- needs and the time profile in force. The decider writes them into every
-- decision's metadata (`sizing_status`, the same fields as `walrus status`),
-- so the view shows them as of the cluster's latest decision (`sizing_at`),
-- from the rows the historian stores anyway: no further subscription, no
-- write per sample. `walrus status` shows them as of the latest sample.
ALTER TABLE walrus.cluster_status ADD COLUMN IF NOT EXISTS wal_rate_bytes_per_second DOUBLE PRECISION;
ALTER TABLE walrus.cluster_status ADD COLUMN IF NOT EXISTS required_size_mb INTEGER;
ALTER TABLE walrus.cluster_status ADD COLUMN IF NOT EXISTS active_profile TEXT;
ALTER TABLE walrus.cluster_status ADD COLUMN IF NOT EXISTS sizing_at TIMESTAMPTZ;

-- After walrus.track_status() (triggers of one event fire in name order), so
-- the cluster's row exists and names its latest decision. A decision stored
-- late (an older one redelivered) is not the latest and changes nothing; a
-- decision without sizing_status (from a decider before it) keeps the values
-- of an earlier one, whose time sizing_at says.
CREATE OR REPLACE FUNCTION walrus.track_status_sizing() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  sizing jsonb := NEW.metadata->'sizing_status';
BEGIN
  IF jsonb_typeof(sizing) = 'object' THEN
    UPDATE walrus.cluster_status s SET
      wal_rate_bytes_per_second = CASE WHEN jsonb_typeof(sizing->'wal_rate_bytes_per_second') = 'number'
                                       THEN (sizing->>'wal_rate_bytes_per_second')::double precision END,
      required_size_mb = CASE WHEN jsonb_typeof(sizing->'required_size_mb') = 'number'
                              THEN round((sizing->>'required_size_mb')::numeric)::integer END,
      active_profile = CASE WHEN jsonb_typeof(sizing->'active_profile') = 'string' THEN sizing->>'active_profile' END,
      sizing_at = NEW.timestamp
    WHERE s.cluster = NEW.cluster AND s.last_decision_id = NEW.decision_id;
  END IF;
  RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS history_track_status_sizing ON walrus.history;
CREATE TRIGGER history_track_status_sizing
  AFTER INSERT ON walrus.history
  FOR EACH ROW EXECUTE FUNCTION walrus.track_status_sizing();

-- Clusters whose latest decision was stored before this migration.
UPDATE walrus.cluster_status s SET
  wal_rate_bytes_per_second = CASE WHEN jsonb_typeof(h.metadata->'sizing_status'->'wal_rate_bytes_per_second') = 'number'
                                   THEN (h.metadata->'sizing_status'->>'wal_rate_bytes_per_second')::double precision END,
  required_size_mb = CASE WHEN jsonb_typeof(h.metadata->'sizing_status'->'required_size_mb') = 'number'
                          THEN round((h.metadata->'sizing_status'->>'required_size_mb')::numeric)::integer END,
  active_profile = CASE WHEN jsonb_typeof(h.metadata->'sizing_status'->'active_profile') = 'string'
                        THEN h.metadata->'sizing_status'->>'active_profile' END,
  sizing_at = h.timestamp
  FROM walrus.history h
 WHERE h.decision_id = s.last_decision_id AND jsonb_typeof(h.metadata->'sizing_status') = 'object';

-- The view of 002 with the new columns at its end (CREATE OR REPLACE VIEW may only add columns there).
CREATE OR REPLACE VIEW walrus.status AS
SELECT cluster,
       CASE WHEN last_applied_at IS NOT NULL AND last_applied_at >= last_decision_at THEN last_applied_size_mb
            WHEN last_action IN ('increase', 'decrease', 'capped') AND last_apply_status = 'applied' THEN last_new_size_mb
            ELSE last_old_size_mb END AS max_wal_size_mb,
       last_decision_at,
       last_action,
       last_old_size_mb,
       last_new_size_mb,
       last_forced_checkpoints,
       last_apply_status,
       last_apply_error,
       last_reason,
       last_applied_at,
       last_applied_size_mb,
       decisions,
       applied AS adjustments_applied,
       now() - last_decision_at AS since_last_decision,
       wal_rate_bytes_per_second,
       required_size_mb,
       active_profile,
       sizing_at
  FROM walrus.cluster_status
 ORDER BY last_decision_at DESC;

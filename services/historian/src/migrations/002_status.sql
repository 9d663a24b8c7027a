-- walrus.status: the latest known state of each cluster, for people who live
-- in psql. Kept current by a trigger on walrus.history, so it changes in the
-- same transaction as the historian's insert or update, and it survives
-- walrus.cleanup_history() (retention deletes history, not the status).
CREATE TABLE IF NOT EXISTS walrus.cluster_status (
  cluster TEXT PRIMARY KEY,
  last_decision_at TIMESTAMPTZ NOT NULL,
  last_decision_id UUID NOT NULL,
  last_action TEXT NOT NULL,
  last_old_size_mb INTEGER NOT NULL,
  last_new_size_mb INTEGER NOT NULL,
  last_forced_checkpoints BIGINT NOT NULL,
  last_reason TEXT,
  last_apply_status TEXT,
  last_apply_error TEXT,
  last_applied_at TIMESTAMPTZ,
  last_applied_size_mb INTEGER,
  decisions BIGINT NOT NULL DEFAULT 0,
  applied BIGINT NOT NULL DEFAULT 0,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION walrus.track_status() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  newly_applied boolean;
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO walrus.cluster_status AS s
      (cluster, last_decision_at, last_decision_id, last_action, last_old_size_mb, last_new_size_mb,
       last_forced_checkpoints, last_reason, last_apply_status, last_apply_error, decisions)
    VALUES (NEW.cluster, NEW.timestamp, NEW.decision_id, NEW.action, NEW.old_size_mb, NEW.new_size_mb,
            NEW.forced_checkpoints, NEW.reason, NEW.apply_status, NEW.apply_error, 1)
    ON CONFLICT (cluster) DO UPDATE SET
      decisions = s.decisions + 1,
      updated_at = now(),
      -- A decision redelivered late must not hide a newer one.
      last_decision_at = CASE WHEN EXCLUDED.last_decision_at >= s.last_decision_at THEN EXCLUDED.last_decision_at ELSE s.last_decision_at END,
      last_decision_id = CASE WHEN EXCLUDED.last_decision_at >= s.last_decision_at THEN EXCLUDED.last_decision_id ELSE s.last_decision_id END,
      last_action = CASE WHEN EXCLUDED.last_decision_at >= s.last_decision_at THEN EXCLUDED.last_action ELSE s.last_action END,
      last_old_size_mb = CASE WHEN EXCLUDED.last_decision_at >= s.last_decision_at THEN EXCLUDED.last_old_size_mb ELSE s.last_old_size_mb END,
      last_new_size_mb = CASE WHEN EXCLUDED.last_decision_at >= s.last_decision_at THEN EXCLUDED.last_new_size_mb ELSE s.last_new_size_mb END,
      last_forced_checkpoints = CASE WHEN EXCLUDED.last_decision_at >= s.last_decision_at THEN EXCLUDED.last_forced_checkpoints ELSE s.last_forced_checkpoints END,
      last_reason = CASE WHEN EXCLUDED.last_decision_at >= s.last_decision_at THEN EXCLUDED.last_reason ELSE s.last_reason END,
      last_apply_status = CASE WHEN EXCLUDED.last_decision_at >= s.last_decision_at THEN EXCLUDED.last_apply_status ELSE s.last_apply_status END,
      last_apply_error = CASE WHEN EXCLUDED.last_decision_at >= s.last_decision_at THEN EXCLUDED.last_apply_error ELSE s.last_apply_error END;
  ELSIF NEW.apply_status IS DISTINCT FROM OLD.apply_status THEN
    UPDATE walrus.cluster_status s SET
      last_apply_status = CASE WHEN s.last_decision_id = NEW.decision_id THEN NEW.apply_status ELSE s.last_apply_status END,
      last_apply_error = CASE WHEN s.last_decision_id = NEW.decision_id THEN NEW.apply_error ELSE s.last_apply_error END,
      updated_at = now()
    WHERE s.cluster = NEW.cluster;
  END IF;
  -- The size a cluster was last set to: the newest applied outcome.
  IF TG_OP = 'INSERT' THEN
    newly_applied := NEW.apply_status = 'applied';
  ELSE
    newly_applied := NEW.apply_status = 'applied' AND OLD.apply_status IS DISTINCT FROM 'applied';
  END IF;
  IF newly_applied THEN
    UPDATE walrus.cluster_status s SET
      applied = s.applied + 1,
      last_applied_at = CASE WHEN s.last_applied_at IS NULL OR NEW.applied_at >= s.last_applied_at THEN NEW.applied_at ELSE s.last_applied_at END,
      last_applied_size_mb = CASE WHEN s.last_applied_at IS NULL OR NEW.applied_at >= s.last_applied_at
                                  THEN COALESCE(NEW.applied_size_mb, NEW.new_size_mb) ELSE s.last_applied_size_mb END
    WHERE s.cluster = NEW.cluster;
  END IF;
  RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS history_track_status ON walrus.history;
CREATE TRIGGER history_track_status
  AFTER INSERT OR UPDATE OF apply_status ON walrus.history
  FOR EACH ROW EXECUTE FUNCTION walrus.track_status();

-- Clusters that already have history when this migration runs.
INSERT INTO walrus.cluster_status
  (cluster, last_decision_at, last_decision_id, last_action, last_old_size_mb, last_new_size_mb,
   last_forced_checkpoints, last_reason, last_apply_status, last_apply_error, decisions, applied,
   last_applied_at, last_applied_size_mb)
SELECT l.cluster, l.timestamp, l.decision_id, l.action, l.old_size_mb, l.new_size_mb,
       l.forced_checkpoints, l.reason, l.apply_status, l.apply_error, c.decisions, c.applied,
       a.applied_at, COALESCE(a.applied_size_mb, a.new_size_mb)
  FROM (SELECT DISTINCT ON (cluster) * FROM walrus.history ORDER BY cluster, timestamp DESC, id DESC) l
  JOIN (SELECT cluster, count(*) AS decisions, count(*) FILTER (WHERE apply_status = 'applied') AS applied
          FROM walrus.history GROUP BY cluster) c USING (cluster)
  LEFT JOIN (SELECT DISTINCT ON (cluster) cluster, applied_at, applied_size_mb, new_size_mb
               FROM walrus.history WHERE apply_status = 'applied'
              ORDER BY cluster, applied_at DESC) a USING (cluster)
ON CONFLICT (cluster) DO NOTHING;

-- The view people query: one row per cluster, newest activity first.
CREATE OR REPLACE VIEW walrus.status AS
SELECT cluster,
       -- The size walrus last knew: what it set, unless a later decision was computed from another size.
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
       now() - last_decision_at AS since_last_decision
  FROM walrus.cluster_status
 ORDER BY last_decision_at DESC;

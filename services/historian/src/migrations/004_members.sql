-- Clusters with several members (docs/ARCHITECTURE.md, "Additions"): which
-- member was the primary when each decision was made, the one member a
-- decision was for (a standby brought to the cluster's size; NULL: the
-- whole cluster), and each member's part in applying it.
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS primary_member TEXT;
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS target_member TEXT;
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS apply_members JSONB;
ALTER TABLE walrus.pending_outcomes ADD COLUMN IF NOT EXISTS apply_members JSONB;

-- Decisions stored before this migration name their primary in metadata, if at all.
UPDATE walrus.history
   SET primary_member = metadata->>'primary_member',
       target_member = metadata->>'target_member'
 WHERE primary_member IS NULL AND metadata ? 'primary_member';

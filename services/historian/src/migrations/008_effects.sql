-- What each applied change did (issue 25; engine/effect.ts in @walrus/core):
-- the Effect message of walrus.effect.<cluster>, stored on its decision's row
-- once walrus.effect_intervals checkpoint_timeouts have followed the change.
-- `effect` is the whole message (spans before and after: forced checkpoints
-- per hour, WAL rate, checkpoint write and sync time, full-page images per
-- transaction); verdict and flag are columns so that queries need no JSON.
-- Existing rows have none: their changes were never checked.
-- (007 is another migration's number: the files apply in order, each once,
-- whatever their numbers' gaps.)
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS effect JSONB;
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS effect_verdict TEXT;
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS effect_flag TEXT;

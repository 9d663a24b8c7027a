-- walrus.bound_slots (docs/DISK-SAFETY.md): a decision may carry the
-- max_slot_wal_keep_size to put in force with its max_wal_size (the typed
-- field `max_slot_wal_keep_size_mb`), and its outcome the value read back.
-- Recorded like the sizes: slot_keep_mb beside new_size_mb, and
-- applied_slot_keep_mb beside applied_size_mb (-1: unlimited). NULL: the
-- decision did not touch it. Decisions stored before this migration carried
-- no keep size: nothing to fill in.
--
-- The alerts need nothing: walrus.alerts keeps every kind (wal_disk_forecast
-- and slot_lost too) with its whole message in payload, and slot_lost names
-- its slot in the slot column like slot_retention, so walrus.alerts_firing
-- tells one lost slot from another.
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS slot_keep_mb INTEGER;
ALTER TABLE walrus.history ADD COLUMN IF NOT EXISTS applied_slot_keep_mb INTEGER;
ALTER TABLE walrus.pending_outcomes ADD COLUMN IF NOT EXISTS applied_slot_keep_mb INTEGER;

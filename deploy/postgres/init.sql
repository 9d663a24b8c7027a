-- The least-privilege role walrus uses (README, "PostgreSQL privileges"),
-- and the database that holds walrus.history.
CREATE ROLE walrus LOGIN PASSWORD 'walrus';
GRANT pg_monitor TO walrus;
GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO walrus;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO walrus;
CREATE DATABASE walrus OWNER walrus;

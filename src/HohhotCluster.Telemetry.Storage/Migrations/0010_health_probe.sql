-- Issue 18: the health check's write probe. One row per platform host, rewritten by every check: a PostgreSQL that
-- answers "select 1" but refuses writes (read-only, disk full) fails it.
create table health_probe (
    host       text primary key,
    probed_at  timestamptz not null
);

-- Issue 15: set-up that runs once per cluster (ClusterSetupLedger). One row per piece of set-up (e.g. the InfluxDB
-- retention policies of a database): the revision of the configuration it was done with, those settings, and who
-- did it when. A host that starts takes a transaction-level advisory lock on the name, reads the row and does the
-- set-up only when its own revision is newer, so two hosts starting at once never both do it and a host with an older
-- configuration never undoes a newer one.
create table cluster_setup (
    name        text primary key,
    revision    integer not null,
    settings    jsonb not null,
    applied_by  text not null,
    applied_at  timestamptz not null default now()
);

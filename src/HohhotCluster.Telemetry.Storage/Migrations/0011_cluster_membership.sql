-- Issue 15: Orleans cluster membership on the platform's own schema (PostgresMembershipTable).
-- One version row per cluster id: Orleans' table version and its etag. Every membership change (a silo joining,
-- a status change, a suspicion) is one transaction that moves this row from the etag it read to the next one, so
-- two silos writing from the same reading of the table cannot both succeed.
create table cluster_membership_version (
    cluster_id  text primary key,
    version     integer not null,
    etag        bigint not null,
    changed_at  timestamptz not null default now()
);

-- One row per silo incarnation (address, port and generation: a restarted silo is a new row). row_etag changes on
-- every membership update of the row, never on the I-am-alive heartbeat, so a heartbeat between a silo's read and its
-- update does not spoil the update.
create table cluster_silo (
    cluster_id       text not null references cluster_membership_version (cluster_id) on delete cascade,
    address          text not null,
    port             integer not null,
    generation       integer not null,
    host_name        text not null,
    silo_name        text not null,
    role_name        text not null,
    status           smallint not null,
    proxy_port       integer not null,
    update_zone      integer not null,
    fault_zone       integer not null,
    suspect_times    text not null,
    start_time       timestamptz not null,
    i_am_alive_time  timestamptz not null,
    row_etag         bigint not null,
    primary key (cluster_id, address, port, generation)
);

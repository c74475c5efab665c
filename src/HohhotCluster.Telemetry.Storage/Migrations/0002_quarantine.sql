-- Messages that failed validation: kept with their raw bytes and a specific reason, never silently dropped.
create table quarantine (
    id          bigserial primary key,
    received_at timestamptz not null,
    topic       text not null,
    reason      text not null,
    detail      text not null default '',
    device_id   text null,
    payload     bytea not null
);
create index quarantine_received on quarantine (received_at);
create index quarantine_reason on quarantine (reason, received_at);

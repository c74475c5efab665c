-- Alerts: one row per occurrence (raised, possibly updated, cleared); alert_event is the change feed that
-- subscribers stream from (its id is their resume cursor).
create table alert (
    id           bigserial primary key,
    alert_key    text not null,                 -- kind + subject: one open alert per key
    kind         text not null,
    severity     text not null check (severity in ('info', 'warning', 'critical')),
    subject      text not null,                 -- what it is about: a tank, a cow, a device, a lot, a tanker
    pasture_id   text null,
    plant_id     text null,
    county_id    text null,
    message      text not null,
    since        timestamptz not null,          -- when the condition started (event time)
    raised_at    timestamptz not null,
    updated_at   timestamptz not null,
    cleared_at   timestamptz null,
    clear_reason text null,
    readings     jsonb not null default '[]'
);
create unique index alert_open_key on alert (alert_key) where cleared_at is null;
create index alert_kind_raised on alert (kind, raised_at);
create index alert_county_raised on alert (county_id, raised_at);

create table alert_event (
    id        bigserial primary key,
    alert_id  bigint not null references alert (id),
    change    text not null check (change in ('raised', 'updated', 'cleared')),
    at        timestamptz not null
);

-- Last message seen per device, for the silent-device watchdog.
create table device_activity (
    device_id    text primary key,
    owner_kind   text not null,
    owner_id     text not null,
    county_id    text not null,
    last_seen_at timestamptz not null,
    last_event   timestamptz not null
);
create index device_activity_seen on device_activity (last_seen_at);

-- The registry: who exists, where, and which device belongs to whom.
create table county (
    id          text primary key,
    name        text not null,
    name_zh     text not null default '',
    city        text not null default 'Hohhot'
);

create table pasture (
    id               text primary key,
    county_id        text not null references county (id),
    name             text not null,
    species          text not null check (species in ('cow', 'goat')),
    capacity_head    integer not null check (capacity_head >= 0),
    milkings_per_day smallint not null default 3 check (milkings_per_day between 1 and 4)
);
create index pasture_county on pasture (county_id);

create table herd (
    id         text primary key,
    pasture_id text not null references pasture (id),
    name       text not null default ''
);
create index herd_pasture on herd (pasture_id);

create table plant (
    id               text primary key,
    county_id        text not null references county (id),
    name             text not null,
    daily_capacity_t numeric(12, 3) not null check (daily_capacity_t >= 0),
    species          text not null default 'cow' check (species in ('cow', 'goat'))
);
create index plant_county on plant (county_id);

create table device (
    id            text primary key,
    owner_kind    text not null check (owner_kind in ('pasture', 'plant')),
    owner_id      text not null,
    kind          text not null,
    herd_id       text null references herd (id),
    registered_at timestamptz not null default now()
);
create index device_owner on device (owner_kind, owner_id);

-- Who calls the platform. An organisation is of one kind and holds what it may see and change: a pasture operator
-- its pastures, a processor its plants, a regulator its counties (or the whole city). Accounts (people and
-- service accounts) belong to one organisation and hold one role in it; secrets are stored only as hashes.
create table organisation (
    id             text primary key check (id ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    kind           text not null check (kind in ('pasture_operator', 'processor', 'regulator', 'platform_operator')),
    name           text not null,
    city_wide      boolean not null default false, -- a regulator of the whole city rather than of named counties
    created_at     timestamptz not null default now(),
    deactivated_at timestamptz null,
    check (not city_wide or kind = 'regulator')
);

-- A pasture or plant has at most one owning organisation; a regulator may hold several counties.
create table organisation_pasture (
    pasture_id      text primary key references pasture (id),
    organisation_id text not null references organisation (id)
);
create index organisation_pasture_org on organisation_pasture (organisation_id);

create table organisation_plant (
    plant_id        text primary key references plant (id),
    organisation_id text not null references organisation (id)
);
create index organisation_plant_org on organisation_plant (organisation_id);

create table organisation_county (
    organisation_id text not null references organisation (id),
    county_id       text not null references county (id),
    primary key (organisation_id, county_id)
);

create table account (
    id                text primary key check (id ~ '^[a-z0-9][a-z0-9._@-]{0,63}$'),
    organisation_id   text not null references organisation (id),
    kind              text not null check (kind in ('user', 'service')),
    role              text not null check (role in ('viewer', 'editor', 'admin')),
    display_name      text not null default '',
    secret_hash       text not null,
    secret_changed_at timestamptz not null default now(), -- tokens issued before this are no longer honoured
    created_at        timestamptz not null default now(),
    disabled_at       timestamptz null
);
create index account_org on account (organisation_id);

-- Every authenticated call: who, which method, for what, with what outcome. Kept for a configured period.
create table access_log (
    id              bigint generated always as identity primary key,
    at              timestamptz not null,
    account_id      text null,
    organisation_id text null,
    method          text not null,
    request         text not null default '',
    status          text not null,
    detail          text not null default '',
    duration_ms     real not null,
    peer            text not null default ''
);
create index access_log_at on access_log (at);
create index access_log_account_at on access_log (account_id, at);

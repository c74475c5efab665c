-- Manure and animal-health records from pastures: the inputs of the manure and immunisation KPIs.
create table manure_record (
    device_id    text not null,
    boot_epoch   bigint not null,
    seq          bigint not null,
    pasture_id   text not null,
    county_id    text not null,
    local_date   date not null,
    event_time   timestamptz not null,
    produced_kg  double precision not null,
    collected_kg double precision not null,
    applied_kg   double precision not null,
    treated_kg   double precision not null,
    treatment    text null,
    primary key (device_id, boot_epoch, seq)
);
create index manure_record_pasture_day on manure_record (pasture_id, local_date);
create index manure_record_county_day on manure_record (county_id, local_date);

create table health_record (
    device_id   text not null,
    boot_epoch  bigint not null,
    seq         bigint not null,
    pasture_id  text not null,
    county_id   text not null,
    local_date  date not null,
    event_time  timestamptz not null,
    event       text not null check (event in ('vaccination', 'census', 'antibody_test')),
    programme   text not null,
    species     text not null check (species in ('cow', 'goat')),
    vaccinated  integer not null default 0,
    in_stock    integer not null default 0,
    due         integer not null default 0,
    tested      integer not null default 0,
    protective  integer not null default 0,
    titres      jsonb null,
    primary key (device_id, boot_epoch, seq)
);
create index health_record_pasture on health_record (pasture_id, programme, event, local_date);
create index health_record_county on health_record (county_id, programme, event, local_date);

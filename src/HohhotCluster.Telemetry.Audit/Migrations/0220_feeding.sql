-- TMR feeding (kinds tmr and feed_stock, docs/mqtt-contract.md): rations, mixer loads and their ingredients, what each
-- pen was given and left, and the feed stores. One row per message key; the rollups and the forage KPI read these.

-- The ration a herd is on: the newest ration message naming the herd, by event time, is its current ration.
create table feed_ration (
    device_id      text not null,
    boot_epoch     bigint not null,
    seq            bigint not null,
    pasture_id     text not null,
    county_id      text not null,
    event_time     timestamptz not null,
    ration_id      text not null,
    ration_version integer not null,
    name           text null,
    herd_ids       text[] not null,
    feeds          jsonb not null,
    primary key (device_id, boot_epoch, seq)
);
create index feed_ration_pasture on feed_ration (pasture_id, event_time);

create table feed_load (
    device_id      text not null,
    boot_epoch     bigint not null,
    seq            bigint not null,
    pasture_id     text not null,
    county_id      text not null,
    herd_id        text not null,
    local_date     date not null,
    event_time     timestamptz not null,
    load_id        text not null,
    ration_id      text not null,
    ration_version integer not null,
    recipe_kg      double precision not null,
    loaded_kg      double precision not null,
    loaded_dm_kg   double precision not null,
    primary key (device_id, boot_epoch, seq)
);
-- A delivery names its load by id: one load per id on a pasture.
create unique index feed_load_id on feed_load (pasture_id, load_id);
create index feed_load_herd_day on feed_load (herd_id, local_date);
create index feed_load_pasture_day on feed_load (pasture_id, local_date);

create table feed_load_ingredient (
    device_id          text not null,
    boot_epoch         bigint not null,
    seq                bigint not null,
    position           integer not null,
    pasture_id         text not null,
    county_id          text not null,
    local_date         date not null,
    feed_id            text not null,
    category           text not null check (category in ('silage_corn', 'oat_hay', 'alfalfa', 'concentrate', 'other')),
    recipe_kg          double precision not null,
    loaded_kg          double precision not null,
    dry_matter_percent double precision not null,
    origin             text null check (origin in ('local_farm', 'hohhot', 'inner_mongolia', 'imported')),
    primary key (device_id, boot_epoch, seq, position),
    foreign key (device_id, boot_epoch, seq) references feed_load on delete cascade
);
create index feed_load_ingredient_pasture_day on feed_load_ingredient (pasture_id, local_date, category);
create index feed_load_ingredient_county_day on feed_load_ingredient (county_id, local_date, category);

-- Deliveries to a pen's bunk and the refusals weighed back from it, kg as fed.
create table feed_pen_record (
    device_id          text not null,
    boot_epoch         bigint not null,
    seq                bigint not null,
    event              text not null check (event in ('delivery', 'refusal')),
    pasture_id         text not null,
    county_id          text not null,
    herd_id            text not null,
    pen                text not null,
    local_date         date not null,
    event_time         timestamptz not null,
    ration_id          text not null,
    load_id            text null,
    kg                 double precision not null,
    head_count         integer null,
    dry_matter_percent double precision null,
    primary key (device_id, boot_epoch, seq)
);
create index feed_pen_record_herd_day on feed_pen_record (herd_id, local_date);
create index feed_pen_record_pasture_day on feed_pen_record (pasture_id, local_date);

create table feed_stock (
    device_id          text not null,
    boot_epoch         bigint not null,
    seq                bigint not null,
    pasture_id         text not null,
    county_id          text not null,
    local_date         date not null,
    event_time         timestamptz not null,
    storage_id         text not null,
    storage_name       text null,
    storage_type       text not null,
    feed_id            text not null,
    quantity_kg        double precision not null,
    capacity_kg        double precision null,
    dry_matter_percent double precision null,
    origin             text null check (origin in ('local_farm', 'hohhot', 'inner_mongolia', 'imported')),
    primary key (device_id, boot_epoch, seq)
);
create index feed_stock_storage on feed_stock (pasture_id, storage_id, event_time desc);

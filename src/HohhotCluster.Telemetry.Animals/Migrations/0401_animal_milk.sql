-- Per-animal milk (issue 17): every milking the platform counted, kept with its animal. Owned by
-- HohhotCluster.Telemetry.Animals (AnimalMilkStore); others read it through that store.
--
-- One row per (ear tag, China day), partitioned by month (AnimalMilkStore creates each month's partition before its
-- first write): an animal over a lactation is one index range scan of ~305 rows. Each milking of the day is kept in
-- the row's arrays, in the order counted: its message key ('device/boot/seq', the key-once guard: a key in `keys` is
-- never counted again), its event time, kg and flags (AnimalMilkFlags: 1 milked separately, not to the tank;
-- 2 under milk withdrawal; 4 colostrum; 8 the ear tag was not registered alive on the pasture).
create table animal_milk_day (
    ear_tag          text not null,
    day              date not null,
    pasture_id       text not null,
    county_id        text not null,
    herd_id          text not null,
    kg               double precision not null,
    milkings         integer not null,
    -- Of kg: into the tank and neither withdrawal nor colostrum; milk of animals under withdrawal; colostrum (and not
    -- under withdrawal); milked separately (kept out of the tank) and neither; of an ear tag not registered alive here.
    saleable_kg      double precision not null,
    withdrawal_kg    double precision not null,
    colostrum_kg     double precision not null,
    separated_kg     double precision not null,
    unregistered_kg  double precision not null,
    keys             text[] not null,
    times            timestamptz[] not null,
    kgs              double precision[] not null,
    flags            smallint[] not null,
    primary key (ear_tag, day)
) partition by range (day);
create index animal_milk_day_pasture on animal_milk_day (pasture_id, day);

-- A pasture's day of per-animal milk, summed as the rows are written (same transaction): the throughput answer's
-- saleable / withdrawal / colostrum / separated kg for a pasture, county or the city without reading 600,000 rows.
create table animal_milk_pasture_day (
    pasture_id       text not null,
    day              date not null,
    county_id        text not null,
    kg               double precision not null,
    milkings         integer not null,
    saleable_kg      double precision not null,
    withdrawal_kg    double precision not null,
    colostrum_kg     double precision not null,
    separated_kg     double precision not null,
    unregistered_kg  double precision not null,
    primary key (pasture_id, day)
);
create index animal_milk_pasture_day_county on animal_milk_pasture_day (county_id, day);

-- Each counted milking that GB 19301 keeps out of the tank and that reached it (withdrawal or colostrum, not milked
-- separately), once per message key: what the alert is raised for, and what flags the bulk-tank lot it went into.
create table animal_milk_unfit (
    device_id   text not null,
    boot_epoch  bigint not null,
    seq         bigint not null,
    ear_tag     text not null,
    event_time  timestamptz not null,
    pasture_id  text not null,
    county_id   text not null,
    herd_id     text not null,
    kg          double precision not null,
    flags       smallint not null,
    primary key (device_id, boot_epoch, seq)
);
create index animal_milk_unfit_pasture_time on animal_milk_unfit (pasture_id, event_time);

-- Milk in a bulk-tank lot (issue 17): which tank each pasture's milk line fed from when, each tank's collections, and
-- each collected lot's milkings (its animals, and the withdrawal or colostrum milk in it). Owned by
-- HohhotCluster.Telemetry.Animals (BulkTankLotMilk); traceability reads the lots through ILotAnimalSource.

-- When each milking's milk reached the tank: its event time plus its duration (the milk flows in as the animal is
-- milked out). Rows written before this migration have none: their event times stand for it.
alter table animal_milk_day add column in_tank timestamptz[];

-- The bulk_tank kind's `filling` (the milk line switched to the tank: kind 1) and `collection` (kind 2) events, once
-- each: a redelivery changes nothing.
create table milk_tank_event (
    pasture_id  text not null,
    kind        smallint not null check (kind in (1, 2)),
    at          timestamptz not null,
    tank_id     text not null,
    county_id   text not null,
    lot_id      text null check ((kind = 2) = (lot_id is not null)),
    primary key (pasture_id, kind, at, tank_id)
);
create index milk_tank_event_lot on milk_tank_event (lot_id) where lot_id is not null;
create index milk_tank_event_tank on milk_tank_event (pasture_id, tank_id, kind, at);

-- One row per collected lot: the milkings that reached its tank in [window_from, window_to) while the milk line fed
-- it, not milked separately. window_to is the collection, window_from the tank's previous collection (at most 72 hours
-- back). Computed when the collection arrives and again whenever a milking, filling or collection that changes it
-- arrives later (all under the pasture's advisory lock, so the row is always what the tables hold).
create table milk_tank_lot (
    lot_id              text primary key,
    pasture_id          text not null,
    county_id           text not null,
    tank_id             text not null,
    window_from         timestamptz not null,
    window_to           timestamptz not null,
    -- false: the pasture sent no `filling` before the collection, so no milking could be placed in the lot.
    routing_known       boolean not null,
    animals             integer not null,
    milkings            integer not null,
    kg                  double precision not null,
    -- Ear tags (sorted) of animals under milk withdrawal whose milk reached the lot, and the milkings of them; the
    -- colostrum milkings in it (AnimalMilkFlags 2 and 4; a milking may be both).
    withdrawal_tags     text[] not null,
    withdrawal_milkings integer not null,
    colostrum_milkings  integer not null,
    unfit_milkings      integer not null,
    sample_tags         text[] not null,
    computed_at         timestamptz not null default now()
);
create index milk_tank_lot_pasture on milk_tank_lot (pasture_id, window_to);
create index milk_tank_lot_unfit on milk_tank_lot (window_to) where unfit_milkings > 0;

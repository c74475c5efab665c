-- The animal registry (issue 17): one row per national ear tag with its current state, and every event that made it.
-- Owned by HohhotCluster.Telemetry.Animals (AnimalRegistryStore); other components read it through its published
-- read model, never these tables.
create table animal (
    ear_tag          text primary key check (ear_tag ~ '^[23][0-9]{14}$'),
    species          text not null check (species in ('cow', 'goat')),
    breed            text null,
    sex              text not null check (sex in ('Female', 'FemaleNeuter', 'Male', 'MaleCryptorchid', 'MaleNeuter', 'Unknown')),
    birth_date       date null,
    parity           integer not null default 0 check (parity between 0 and 30),
    lactation_status text null check (lactation_status in ('Dry', 'Lead', 'Fresh', 'Early', 'Lactating')),
    lactation_start  date null,
    status           text not null check (status in ('alive', 'off_farm', 'dead')),
    pasture_id       text not null references pasture (id),
    county_id        text not null references county (id),
    herd_id          text null references herd (id),
    registered_at    timestamptz not null,
    -- The newest event's time: an event older than it is refused (the registry is the fold of its events in time order).
    last_event_time  timestamptz not null
);
create index animal_pasture on animal (pasture_id, status);
create index animal_herd on animal (herd_id) where status = 'alive';

-- Every change of an animal: from telemetry (keyed by the message: device, boot, seq) or from a bulk import (keyed by
-- the import call's id and the row's ear tag). The state columns are the animal's state after the event, so the
-- state at any moment is the newest event at or before it.
create table animal_event (
    id               bigint generated always as identity primary key,
    ear_tag          text not null references animal (ear_tag) deferrable initially deferred,
    event            text not null check (event in ('registration', 'birth', 'arrival', 'departure', 'death', 'herd_move', 'dry_off', 'calving')),
    event_time       timestamptz not null,
    source_event_id  text null,
    device_id        text null,
    boot_epoch       bigint null,
    seq              bigint null,
    import_id        text null,
    pasture_id       text not null,
    county_id        text not null,
    herd_id          text null,
    status           text not null,
    parity           integer not null,
    lactation_status text null,
    reason           text null,
    recorded_at      timestamptz not null default now(),
    constraint animal_event_source check ((device_id is not null and boot_epoch is not null and seq is not null) or import_id is not null)
);
create unique index animal_event_key on animal_event (device_id, boot_epoch, seq) where device_id is not null;
create unique index animal_event_import on animal_event (import_id, ear_tag) where import_id is not null;
create index animal_event_animal on animal_event (ear_tag, event_time, id);
create index animal_event_pasture_time on animal_event (pasture_id, event_time);

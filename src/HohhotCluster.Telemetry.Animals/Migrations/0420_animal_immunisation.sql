-- Health per animal (issue 17): every vaccination and antibody test of an animal under a compulsory-immunisation
-- programme (the programme ids are Audit's table, Audit:Programmes). Owned by AnimalHealthStore; an animal is
-- immune on a day while a vaccination or a protective test of the programme is within its protection period.
create table animal_immunisation (
    id               bigint generated always as identity primary key,
    ear_tag          text not null references animal (ear_tag),
    event            text not null check (event in ('vaccination', 'antibody_test')),
    programme        text not null,
    event_time       timestamptz not null,
    -- The China day of the event: protection periods count in days.
    local_date       date not null,
    pasture_id       text not null references pasture (id),
    county_id        text not null references county (id),
    species          text not null check (species in ('cow', 'goat')),
    medicine_name    text null,
    medicine_scheme  text null,
    medicine_id      text null,
    procedure        text null,
    dose_quantity    numeric null,
    dose_unit        text null,
    -- Antibody test: true when the titre was protective.
    protective       boolean null,
    source_event_id  text null,
    device_id        text not null,
    boot_epoch       bigint not null,
    seq              bigint not null,
    recorded_at      timestamptz not null default now(),
    constraint animal_immunisation_kind check ((event = 'vaccination' and medicine_name is not null) or (event = 'antibody_test' and protective is not null))
);
create unique index animal_immunisation_key on animal_immunisation (device_id, boot_epoch, seq);
create index animal_immunisation_animal on animal_immunisation (ear_tag, programme, local_date);
create index animal_immunisation_pasture on animal_immunisation (pasture_id, programme, local_date);

-- Breeding per animal (issue 17): heats, services (artificial insemination with the straw's semen type and bull,
-- natural service, embryo transfer with the embryo's origin), pregnancy checks, abortions, and each calving's progeny
-- (the calving itself is the registry's animal_event; its calves' sexes are kept here). Owned by AnimalBreedingStore.
create table animal_breeding_event (
    id                    bigint generated always as identity primary key,
    ear_tag               text not null references animal (ear_tag),
    event                 text not null check (event in ('heat', 'insemination', 'embryo_transfer', 'pregnancy_check', 'abortion', 'calving')),
    event_time            timestamptz not null,
    local_date            date not null,
    pasture_id            text not null references pasture (id),
    county_id             text not null references county (id),
    species               text not null check (species in ('cow', 'goat')),
    insemination_type     text null check (insemination_type in ('NaturalService', 'RunWithBull', 'Insemination', 'Implantation')),
    sexed_semen           boolean not null default false,
    sexed_gender          text null,
    sire_scheme           text null,
    sire_id               text null,
    embryo_scheme         text null,
    embryo_id             text null,
    collection_centre     text null,
    donor_scheme          text null,
    donor_id              text null,
    embryo_origin         text null check (embryo_origin in ('imported', 'domestic')),
    pregnancy_method      text null,
    pregnancy_result      text null check (pregnancy_result in ('Empty', 'Pregnant', 'Multiple', 'Unknown')),
    heat_detection_method text null,
    heat_certainty        text null,
    progeny_genders       text[] not null default '{}',
    source_event_id       text null,
    device_id             text not null,
    boot_epoch            bigint not null,
    seq                   bigint not null,
    recorded_at           timestamptz not null default now(),
    constraint animal_breeding_service check ((event in ('insemination', 'embryo_transfer')) = (insemination_type is not null)),
    constraint animal_breeding_embryo check ((event = 'embryo_transfer') = (embryo_origin is not null)),
    constraint animal_breeding_check check ((event = 'pregnancy_check') = (pregnancy_result is not null))
);
create unique index animal_breeding_key on animal_breeding_event (device_id, boot_epoch, seq);
create index animal_breeding_animal on animal_breeding_event (ear_tag, event_time, id);
create index animal_breeding_pasture on animal_breeding_event (pasture_id, local_date);

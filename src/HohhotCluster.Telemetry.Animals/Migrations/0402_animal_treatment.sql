-- Treatments and milk withdrawal (issue 17): the animal_event kind now also carries ICAR treatment and withdrawal
-- events. Owned by HohhotCluster.Telemetry.Animals (AnimalTreatmentStore, called by AnimalRegistryStore in the event's
-- transaction). Other events' names may be added by other migrations of this range: keep the list a union.
alter table animal_event drop constraint animal_event_event_check;
alter table animal_event add constraint animal_event_event_check check (event in (
    'registration', 'birth', 'arrival', 'departure', 'death', 'herd_move', 'dry_off', 'calving', 'treatment', 'withdrawal'));

-- One row per treatment or withdrawal event (the animal_event row it belongs to): the medicine, its dose and the
-- milk withdrawal it sets.
create table animal_treatment (
    animal_event_id     bigint primary key references animal_event (id),
    ear_tag             text not null,
    event_time          timestamptz not null,
    medicine_name       text null,
    medicine_scheme     text null,
    medicine_id         text null,
    procedure           text null,
    dose_quantity       double precision null,
    dose_units          text null,
    milk_withdrawal_end timestamptz null
);
create index animal_treatment_animal on animal_treatment (ear_tag, event_time);

-- Each animal's milk withdrawal: the latest end any treatment or withdrawal event set (a later event never shortens
-- it). A milking before it is withdrawal milk.
create table animal_milk_withdrawal (
    ear_tag             text primary key,
    milk_withdrawal_end timestamptz not null
);

-- Tanker loggers on the road (issue 14): one row per tanker_log reading, keyed by its message key, so a redelivery
-- inserts nothing (the key is the idempotence record: no trace_applied row is needed). The load is named by its id
-- and not referenced: a reading may arrive before the pickup that creates the tanker_load lot, and is joined to it
-- by id when the trace is read. Compartments and their temperatures are parallel arrays (1-16 each, same order).
create table tanker_log_reading (
    device_id       text not null,
    boot_epoch      bigint not null,
    seq             bigint not null,
    tanker_load_id  text not null,
    plant_id        text not null,
    at              timestamptz not null,
    latitude_deg    double precision not null,
    longitude_deg   double precision not null,
    speed_kmh       double precision null,
    tanker_plate    text null,
    compartments    smallint[] not null,
    temperatures_c  double precision[] not null,
    primary key (device_id, boot_epoch, seq),
    constraint tanker_log_compartments_match check (cardinality(compartments) = cardinality(temperatures_c) and cardinality(compartments) between 1 and 16)
);

-- Every read is by load (a trace's loads, the alert rule's load), in time order.
create index tanker_log_reading_load on tanker_log_reading (tanker_load_id, at, seq);

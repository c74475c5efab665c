-- The GB 19301 / residue rule table (rows come from Rules/gb19301-rules.csv, seeded at start-up) and judged
-- quality results. Traceability reads quality_result by (lot_kind, lot_id) to show the checks on a trace.
create table quality_rule (
    rule_version   text not null,
    standard       text not null,
    amendment      text not null default '',
    species        text not null check (species in ('cow', 'goat')),
    effective_from date not null,
    item           text not null,
    unit           text not null,
    unit_aliases   text not null default '',
    kind           text not null check (kind in ('numeric', 'qualitative', 'recorded')),
    min_value      numeric null,
    max_value      numeric null,
    source         text not null default '',
    primary key (rule_version, species, item)
);
create index quality_rule_in_force on quality_rule (species, effective_from);

create table quality_result (
    sample_id     text primary key,
    lot_kind      text not null check (lot_kind in ('bulk_tank_lot', 'tanker_load', 'silo_batch', 'product_lot')),
    lot_id        text not null,
    sample_kind   text not null check (sample_kind in ('pasture_self_check', 'plant_acceptance', 'supervisory')),
    sampled_at    timestamptz not null,
    sampled_on    date not null,                 -- local day (China Standard Time) of sampled_at
    species       text not null check (species in ('cow', 'goat')),
    verdict       text not null check (verdict in ('pass', 'fail', 'not_judged')),
    rule_version  text not null,
    items         jsonb not null,                -- [{item, unit, value | result, min, max, verdict}]
    pasture_id    text null,
    plant_id      text null,
    county_id     text null,
    tanker_plate  text null,
    lab           text null,
    device_id     text not null,
    boot_epoch    bigint not null,
    seq           bigint not null,
    received_at   timestamptz not null,
    judged_at     timestamptz not null,
    unique (device_id, boot_epoch, seq)
);
create index quality_result_day on quality_result (sampled_on);
create index quality_result_county_day on quality_result (county_id, sampled_on);
create index quality_result_lot on quality_result (lot_kind, lot_id);
create index quality_result_pasture on quality_result (pasture_id, sampled_on) where pasture_id is not null;
create index quality_result_plant on quality_result (plant_id, sampled_on) where plant_id is not null;
create index quality_result_tanker on quality_result (tanker_plate, sampled_on) where tanker_plate is not null;

-- Every re-judgement under a new rule keeps what it replaced.
create table quality_rejudgement (
    id                    bigserial primary key,
    sample_id             text not null references quality_result (sample_id),
    rejudged_at           timestamptz not null,
    previous_verdict      text not null,
    previous_rule_version text not null,
    previous_items        jsonb not null,
    new_verdict           text not null,
    new_rule_version      text not null,
    reason                text not null
);
create index quality_rejudgement_sample on quality_rejudgement (sample_id);

-- The milk chain as one lot graph: every lot is a node, every movement of milk an edge carrying kg.
-- bulk_tank -> tanker_load (pickup) -> receipt (weighbridge at a plant) -> silo_batch (blend) -> product (production).
-- A surrogate bigint key keeps the edge table narrow (tens of millions of rows) and the recursive walks cheap.
create table trace_lot (
    id            bigint generated always as identity primary key,
    kind          text not null check (kind in ('bulk_tank', 'tanker_load', 'receipt', 'silo_batch', 'product')),
    lot_id        text not null,
    pasture_id    text null,
    plant_id      text null,
    unit_id       text null,             -- tank, tanker plate, silo or line
    kg            double precision null, -- collected, picked up, weighed in, blended, or produced (output quantity)
    temperature_c double precision null,
    at            timestamptz null,
    accepted      boolean null,          -- receipts: false when rejected at the plant
    product       text null,
    details       jsonb not null default '{}'::jsonb,
    source        text not null default 'telemetry' check (source in ('telemetry', 'epcis')),
    constraint trace_lot_natural unique (kind, lot_id)
);
create index trace_lot_pasture_at on trace_lot (pasture_id, at) where kind = 'bulk_tank';
create index trace_lot_plant_at on trace_lot (plant_id, at) where plant_id is not null;
create index trace_lot_at on trace_lot (at);

-- No foreign keys: edges are only written with their lots in one transaction, and FK checks would double the
-- cost of the bulk COPY at city scale. Both directions are covered by an index (child,parent) / (parent,child).
create table trace_edge (
    parent        bigint not null,
    child         bigint not null,
    kg            double precision not null check (kg >= 0),
    at            timestamptz null,
    temperature_c double precision null,
    primary key (child, parent)
);
create index trace_edge_parent on trace_edge (parent, child);

-- Idempotence of the traceability telemetry kinds: one row per applied message key.
create table trace_applied (
    device_id  text not null,
    boot_epoch bigint not null,
    seq        bigint not null,
    applied_at timestamptz not null default now(),
    primary key (device_id, boot_epoch, seq)
);

-- Idempotence of EPCIS imports, and the sampling / holding / recall events that attach to lots.
create table epcis_event (
    event_id    text primary key,
    event_type  text not null,
    biz_step    text null,
    disposition text null,
    event_time  timestamptz not null,
    imported_at timestamptz not null default now()
);
create table trace_lot_event (
    lot         bigint not null,
    event_id    text not null,
    biz_step    text null,
    disposition text null,
    at          timestamptz not null,
    primary key (lot, event_id)
);

-- What other components (audits, issue 5: quality_result(lot_kind, lot_id, ...)) reference: every known lot.
create view trace_lot_ref as
    select kind as lot_kind, lot_id, pasture_id, plant_id, at from trace_lot;

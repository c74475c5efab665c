-- EPCIS events know what they made and whether they were retracted; recalls are declared, not inferred (issue 13).
-- The canonical event hash (CBV 2.0 EPCIS event hash) of every imported event, so an error declaration that names
-- the event by content (no eventID, or another party's id) finds it; the importing organisation, which alone may
-- retract it; and the retraction itself (time, reason, the corrective events it points to).
alter table epcis_event
    add column content_hash         text null,
    add column organisation         text null,
    add column retracted_at         timestamptz null,
    add column retraction_reason    text null,
    add column corrective_event_ids text[] null;
create index epcis_event_content_hash on epcis_event (content_hash) where content_hash is not null;

-- The import event that made an edge or created a lot (null for telemetry): a retraction removes exactly these.
-- Nullable without default: adding them rewrites nothing.
alter table trace_edge add column epcis_event_id text null;
alter table trace_lot add column epcis_event_id text null;
create index trace_edge_epcis_event on trace_edge (epcis_event_id) where epcis_event_id is not null;
create index trace_lot_epcis_event on trace_lot (epcis_event_id) where epcis_event_id is not null;

-- A recall declared on a product lot (by the platform's API, or imported as an EPCIS `recalled` disposition, which
-- stays in trace_lot_event): only a declared recall is exported with disposition `recalled`.
create table trace_recall (
    lot          bigint not null,
    declared_at  timestamptz not null,
    organisation text not null,
    reason       text not null,
    primary key (lot, declared_at)
);

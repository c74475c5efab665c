-- The organisation that created a lot by EPCIS import (null for lots recorded by telemetry): an import may change
-- only lots its own organisation created, never telemetry's or another organisation's.
alter table trace_lot add column owner_organisation text null;

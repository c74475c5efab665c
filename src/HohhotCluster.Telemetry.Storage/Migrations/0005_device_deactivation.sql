-- A device taken out of service: its readings are refused as from an unregistered device; the row stays, so its
-- history keeps its owner.
alter table device add column deactivated_at timestamptz null;
alter table device add column deactivation_reason text null;

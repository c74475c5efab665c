-- Issue 13: a regulator's testing laboratory. Supervisory samples come from a lab's devices, never from the audited
-- pasture's or plant's: a lab is an owner kind of its own (devices, gateway credentials, topics hohhot/v1/lab/...).
-- regulator_org is the identity organisation (a regulator) that holds the lab; it sees the lab's samples.
create table lab (
    id            text primary key,
    county_id     text not null references county (id),
    name          text not null,
    regulator_org text null
);
create index lab_county on lab (county_id);

alter table device drop constraint device_owner_kind_check;
alter table device add constraint device_owner_kind_check check (owner_kind in ('pasture', 'plant', 'lab'));
alter table gateway_credential drop constraint gateway_credential_owner_kind_check;
alter table gateway_credential add constraint gateway_credential_owner_kind_check check (owner_kind in ('pasture', 'plant', 'lab'));

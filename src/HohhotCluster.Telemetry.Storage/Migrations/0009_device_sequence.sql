-- One record of the sequence numbers each device delivered, per boot epoch, over every kind it sends: written by the
-- ingestion for every reading that became durable (applied, a duplicate, or quarantined with a readable key), merged
-- per batch in one statement. The gap check reads the holes between a boot's ranges; the silent-device check reads
-- the kinds a device sent (kind name -> when it was last delivered). Rows of boots not updated for the reading-digest
-- retention are deleted (ReadingDigestRetention).
create table device_sequence (
    device_id  text not null,
    boot_epoch bigint not null,
    ranges     int8multirange not null,
    kinds      jsonb not null default '{}',
    updated_at timestamptz not null,
    primary key (device_id, boot_epoch)
);
create index device_sequence_updated on device_sequence (updated_at);

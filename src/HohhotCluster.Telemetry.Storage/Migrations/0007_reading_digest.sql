-- The digest of the body each reading key was first accepted with: a resend with the same key and another body is a
-- conflicting duplicate (quarantined with both digests), not a redelivery. Only readings recent enough to be accepted
-- are ever compared, so rows are deleted by event time (ReadingDigestRetention).
create table reading_digest (
    device_id     text not null,
    boot_epoch    bigint not null,
    seq           bigint not null,
    digest        bigint not null, -- the first 8 bytes of the body's SHA-256, big-endian
    event_time    timestamptz not null,
    first_seen_at timestamptz not null,
    primary key (device_id, boot_epoch, seq)
);
create index reading_digest_event_time on reading_digest (event_time);

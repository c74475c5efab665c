-- A message is quarantined once per reason: its key (device, boot epoch, seq) is kept beside the device, and a
-- redelivery of it (after a reconnect, or a retried write whose reply was lost) finds its row and adds none.
-- Rows from before this version and messages without a readable key keep null keys and are never merged.
alter table quarantine add column boot_epoch bigint null, add column seq bigint null;
create unique index quarantine_once on quarantine (device_id, boot_epoch, seq, reason) where seq is not null;

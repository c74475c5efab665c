-- The MQTT login of a pasture's or plant's gateway: username = gateway id, password = a secret stored only as a hash.
-- The id follows the registry's rule (1-64 characters, none of MQTT's '/', '+' or '#'). The owner is checked
-- against pasture or plant by GatewayCredentialStore in the statement that inserts the row; it never changes.
-- Disabling keeps the row (and its history) and refuses the login.
create table gateway_credential (
    gateway_id        text primary key check (char_length(gateway_id) between 1 and 64 and gateway_id !~ '[/+#]'
                                              and gateway_id ~ '[^[:space:]]'),
    owner_kind        text not null check (owner_kind in ('pasture', 'plant')),
    owner_id          text not null,
    secret_hash       text not null,
    secret_changed_at timestamptz not null,
    created_at        timestamptz not null,
    created_by        text not null, -- the account that issued it
    disabled_at       timestamptz null,
    disabled_reason   text null,
    check ((disabled_at is null) = (disabled_reason is null))
);
create index gateway_credential_owner on gateway_credential (owner_kind, owner_id);

-- Orleans grain state, written by PostgresGrainStorage: JSONB plus a version used as the ETag.
create table grain_state (
    grain_type text not null,
    grain_id   text not null,
    state      jsonb not null,
    version    bigint not null,
    updated_at timestamptz not null default now(),
    primary key (grain_type, grain_id)
);

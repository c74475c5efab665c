-- Issue 18: scheduled reports. A schedule belongs to an organisation: a report kind, a scope ('' for everything the
-- organisation holds when the report runs, else 'county:<id>', 'pasture:<id>', 'plant:<id>' or 'city'), a cadence
-- (daily at a local China-time hour, weekly on an ISO weekday at that hour), the formats and the deliveries besides
-- the folder (a signed webhook, e-mail addresses). A deleted schedule is kept (deleted_at) for its runs' sake.
create table report_schedule (
    id              bigserial primary key,
    organisation_id text not null,
    kind            text not null check (kind in ('audit', 'kpi')),
    scope           text not null,
    cadence         text not null check (cadence in ('daily', 'weekly')),
    local_hour      integer not null check (local_hour between 0 and 23),
    weekday         integer null check (weekday between 1 and 7),
    formats         text[] not null,
    webhook_url     text null,
    webhook_secret  text null,
    email_to        text[] not null default '{}',
    created_by      text not null,
    created_at      timestamptz not null,
    deleted_at      timestamptz null,
    check ((cadence = 'weekly') = (weekday is not null)),
    check ((webhook_url is null) = (webhook_secret is null))
);
create index report_schedule_org on report_schedule (organisation_id) where deleted_at is null;

-- Each run of a report: its period, what it wrote (files with their sizes and digests), the digest of its tables,
-- every delivery's outcome and attempts. A scheduled period is claimed by inserting its row, so it runs once for all
-- hosts and restarts (the partial unique index); a claim left 'running' by a host that died is taken over once stale.
-- Manual runs (a past period re-run on request) are rows of their own.
create table report_run (
    id              bigserial primary key,
    schedule_id     bigint null references report_schedule (id),
    organisation_id text not null,
    kind            text not null,
    scopes          text[] not null default '{}',
    period_from     date not null,
    period_to       date not null,
    trigger         text not null check (trigger in ('schedule', 'manual')),
    status          text not null check (status in ('running', 'succeeded', 'failed')),
    attempts        integer not null default 1,
    digest          text not null default '',
    files           jsonb not null default '[]',
    deliveries      jsonb not null default '[]',
    error           text not null default '',
    requested_by    text not null default '',
    started_at      timestamptz not null,
    finished_at     timestamptz null,
    check (period_to >= period_from)
);
create unique index report_run_once_per_period on report_run (schedule_id, period_from) where trigger = 'schedule';
create index report_run_org on report_run (organisation_id, id desc);

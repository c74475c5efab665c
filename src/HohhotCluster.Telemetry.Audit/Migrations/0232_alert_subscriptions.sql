-- Issue 18: who is told about alerts. A subscription belongs to an organisation, names a channel (a webhook URL with
-- its signing secret, or an e-mail address), the alert kinds (empty: all) and the lowest severity it wants, and the
-- scope it sees (copied from the organisation's holdings when it is made). With escalate_after_minutes it is told only
-- about alerts still unacknowledged that long after they were raised.
create table alert_subscription (
    id                     bigserial primary key,
    organisation_id        text not null,
    channel                text not null check (channel in ('webhook', 'email')),
    target                 text not null,
    secret                 text null,
    kinds                  text[] not null default '{}',
    min_severity           text not null check (min_severity in ('info', 'warning', 'critical')),
    escalate_after_minutes integer null check (escalate_after_minutes > 0),
    sees_city              boolean not null,
    county_ids             text[] not null default '{}',
    pasture_ids            text[] not null default '{}',
    plant_ids              text[] not null default '{}',
    created_by             text not null,
    created_at             timestamptz not null
);
create index alert_subscription_org on alert_subscription (organisation_id);

-- One row per (subscription, alert, trigger): claimed before sending, so a notification is sent once by one host.
create table alert_notification (
    id              bigserial primary key,
    subscription_id bigint not null references alert_subscription (id) on delete cascade,
    alert_id        bigint not null references alert (id),
    trigger         text not null check (trigger in ('raised', 'escalation')),
    status          text not null check (status in ('sending', 'sent', 'failed')),
    attempts        integer not null default 0,
    last_error      text not null default '',
    claimed_at      timestamptz not null,
    sent_at         timestamptz null,
    unique (subscription_id, alert_id, trigger)
);

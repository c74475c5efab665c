-- Issue 18: the alert workflow. Someone acknowledges an alert, assigns it, resolves it with a note; alert holds the
-- current state, alert_action the history (who, when, what), and each action is also an alert_event for subscribers.
alter table alert
    add column acknowledged_at timestamptz null,
    add column acknowledged_by text null,
    add column assignee        text null,
    add column resolved_at     timestamptz null,
    add column resolved_by     text null,
    add column resolution_note text null;

create table alert_action (
    id              bigserial primary key,
    alert_id        bigint not null references alert (id),
    action          text not null check (action in ('acknowledged', 'assigned', 'resolved')),
    account_id      text not null,
    organisation_id text not null,
    assignee        text null,
    note            text not null default '',
    at              timestamptz not null
);
create index alert_action_alert on alert_action (alert_id, id);

alter table alert_event drop constraint alert_event_change_check;
alter table alert_event add constraint alert_event_change_check
    check (change in ('raised', 'updated', 'cleared', 'acknowledged', 'assigned', 'resolved'));

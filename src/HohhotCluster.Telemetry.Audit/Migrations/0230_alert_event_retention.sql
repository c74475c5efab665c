-- Issue 18: alert_event is pruned by event time (Retention:AlertEvents); the index keeps that delete off a full scan.
create index alert_event_at on alert_event (at);

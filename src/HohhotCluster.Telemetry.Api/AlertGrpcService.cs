using System.Globalization;
using Grpc.Core;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;
using Alert = HohhotCluster.Telemetry.Protos.V1.Alert;
using AlertChange = HohhotCluster.Telemetry.Protos.V1.AlertChange;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// Alerts from PostgreSQL, and a server stream of their changes read from the <c>alert_event</c> feed, so a
/// subscriber sees alerts raised on any silo and can resume after a disconnect with the last event id it received.
/// </summary>
public sealed partial class AlertGrpcService(
    AlertStore alerts, AlertSubscriptionStore subscriptions, Identity.IdentityStore identity, TimeProvider clock, ILogger<AlertGrpcService> logger)
    : AlertService.AlertServiceBase
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    // An id below a newer committed one may belong to a transaction still committing; wait this long before skipping it.
    private static readonly TimeSpan GapPatience = TimeSpan.FromSeconds(2);

    public override async Task<AlertList> ListAlerts(ListAlertsRequest request, ServerCallContext context)
    {
        var limit = request.Limit switch
        {
            0 => 200,
            < 0 or > 1000 => throw new RpcException(new Status(StatusCode.InvalidArgument, "limit must be 1-1000 (0 for 200).")),
            _ => request.Limit,
        };
        var rows = await alerts.QueryAsync(new AlertFilter
        {
            OpenOnly = request.OpenOnly,
            Kind = RequestValues.OrNull(request.Kind),
            CountyId = RequestValues.OrNull(request.CountyId),
            PastureId = RequestValues.OrNull(request.PastureId),
            PlantId = RequestValues.OrNull(request.PlantId),
            Subject = RequestValues.OrNull(request.Subject),
            RaisedFrom = RequestValues.OptionalTime(request.RaisedFrom, "raised_from"),
            RaisedTo = RequestValues.OptionalTime(request.RaisedTo, "raised_to"),
            Limit = limit,
            Visibility = VisibilityOf(context.Caller()),
        }, context.CancellationToken);
        var reply = new AlertList();
        reply.Alerts.AddRange(rows.Select(ToMessage));
        return reply;
    }

    public override async Task SubscribeAlerts(SubscribeAlertsRequest request, IServerStreamWriter<AlertChange> responseStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        var visibility = VisibilityOf(context.Caller());
        try
        {
            var cursor = request.AfterEventId > 0 || request.Replay ? request.AfterEventId : await alerts.LatestEventIdAsync(cancellationToken);
            DateTimeOffset? gapSeen = null;
            while (!cancellationToken.IsCancellationRequested)
            {
                var progressed = false;
                foreach (var change in await alerts.ReadFeedAsync(cursor, 500, cancellationToken))
                {
                    if (change.EventId != cursor + 1 && cursor > 0)
                    {
                        gapSeen ??= clock.GetUtcNow();
                        if (clock.GetUtcNow() - gapSeen < GapPatience)
                        {
                            break;
                        }
                    }

                    gapSeen = null;
                    cursor = change.EventId;
                    progressed = true;
                    if ((request.Kind.Length == 0 || change.Alert.Kind == request.Kind) &&
                        (request.CountyId.Length == 0 || change.Alert.CountyId == request.CountyId) &&
                        (visibility is null || visibility.Sees(change.Alert)))
                    {
                        await responseStream.WriteAsync(new AlertChange
                        {
                            EventId = change.EventId,
                            Change = change.Change,
                            At = RequestValues.UtcText(change.At),
                            Alert = ToMessage(change.Alert),
                        }, cancellationToken);
                    }
                }

                if (!progressed)
                {
                    await Task.Delay(PollInterval, clock, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The subscriber went away.
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            LogStreamUnavailable(exception);
            throw new RpcException(new Status(StatusCode.Unavailable, "The alert store is unavailable; resubscribe with the last event_id received."));
        }
    }

    public override Task<Alert> AcknowledgeAlert(AcknowledgeAlertRequest request, ServerCallContext context) =>
        StepAsync(context, new AlertStep(AlertIdOf(request.AlertId), AlertActions.Acknowledged, "", ""));

    public override async Task<Alert> AssignAlert(AssignAlertRequest request, ServerCallContext context)
    {
        var id = AlertIdOf(request.AlertId);
        if (request.Assignee.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "assignee is required: the account id to assign the alert to."));
        }

        var caller = context.Caller();
        var account = await identity.FindAccountAsync(request.Assignee, context.CancellationToken);
        // Another organisation's account is answered as a missing one: its accounts are not the caller's to list.
        if (account is not { } found || found.Account.DisabledAt is not null
            || (caller.Kind != Identity.OrganisationKind.PlatformOperator && found.Account.OrganisationId != caller.OrganisationId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"assignee '{request.Assignee}' is not an enabled account of your organisation."));
        }

        return await StepAsync(context, new AlertStep(id, AlertActions.Assigned, "", "", request.Assignee));
    }

    public override Task<Alert> ResolveAlert(ResolveAlertRequest request, ServerCallContext context)
    {
        var id = AlertIdOf(request.AlertId);
        var note = request.Note.Trim();
        if (note.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "note is required: say what was done to resolve the alert."));
        }

        if (note.Length > 2000)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "note is longer than 2000 characters."));
        }

        return StepAsync(context, new AlertStep(id, AlertActions.Resolved, "", "", Note: note));
    }

    public override async Task<AlertHistory> GetAlertHistory(GetAlertHistoryRequest request, ServerCallContext context)
    {
        var found = await alerts.HistoryAsync(AlertIdOf(request.AlertId), VisibilityOf(context.Caller()), context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"alert {request.AlertId} not found."));
        var reply = new AlertHistory { Alert = ToMessage(found.Alert) };
        foreach (var action in found.Actions)
        {
            reply.Actions.Add(new AlertAction
            {
                Action = action.Action,
                AccountId = action.AccountId,
                OrganisationId = action.OrganisationId,
                Assignee = action.Assignee ?? "",
                Note = action.Note,
                At = RequestValues.UtcText(action.At),
            });
        }

        return reply;
    }

    private async Task<Alert> StepAsync(ServerCallContext context, AlertStep step)
    {
        var caller = context.Caller();
        var result = await alerts.ActAsync(step with { Account = caller.AccountId, Organisation = caller.OrganisationId },
            VisibilityOf(caller), clock.GetUtcNow(), context.CancellationToken);
        return result.Outcome switch
        {
            AlertStepOutcome.Done => ToMessage(result.Alert!),
            AlertStepOutcome.NotFound => throw new RpcException(new Status(StatusCode.NotFound, result.Detail + ".")),
            _ => throw new RpcException(new Status(StatusCode.FailedPrecondition, result.Detail + ".")),
        };
    }

    public override async Task<Protos.V1.AlertSubscription> CreateAlertSubscription(CreateAlertSubscriptionRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        static RpcException Invalid(string detail) => new(new Status(StatusCode.InvalidArgument, detail));
        var severity = request.MinSeverity.Length == 0 ? "warning" : request.MinSeverity;
        if (Audit.Alerts.AlertSubscription.Rank(severity) < 0)
        {
            throw Invalid($"min_severity '{severity}' is not one of info, warning, critical.");
        }

        if (request.EscalateAfterMinutes < 0 || request.EscalateAfterMinutes > 7 * 24 * 60)
        {
            throw Invalid("escalate_after_minutes must be 0 (told when raised) to 10080 (a week).");
        }

        switch (request.Channel)
        {
            case AlertChannels.Webhook:
                if (!NotificationTargets.IsWebhookUrl(request.Target))
                {
                    throw Invalid($"target '{request.Target}' is not an https:// URL (http:// only on a loopback address).");
                }

                if (request.Secret.Length < 16)
                {
                    throw Invalid("secret must be at least 16 characters: the webhook's HMAC key.");
                }

                break;
            case AlertChannels.Email:
                if (!NotificationTargets.IsEmailAddress(request.Target))
                {
                    throw Invalid($"target '{request.Target}' is not an e-mail address.");
                }

                break;
            default:
                throw Invalid($"channel '{request.Channel}' is not one of webhook, email.");
        }

        var created = await subscriptions.CreateAsync(new Audit.Alerts.AlertSubscription
        {
            OrganisationId = caller.OrganisationId,
            Channel = request.Channel,
            Target = request.Target,
            Secret = request.Channel == AlertChannels.Webhook ? request.Secret : null,
            Kinds = [.. request.Kinds.Distinct(StringComparer.Ordinal)],
            MinSeverity = severity,
            EscalateAfterMinutes = request.EscalateAfterMinutes > 0 ? request.EscalateAfterMinutes : null,
            // The organisation's sight now: a subscription is told only what its organisation may see.
            SeesCity = caller.SeesCity,
            CountyIds = [.. caller.CountyIds],
            PastureIds = [.. caller.PastureIds],
            PlantIds = [.. caller.PlantIds],
            CreatedBy = caller.AccountId,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        }, context.CancellationToken);
        return ToMessage(created);
    }

    public override async Task<AlertSubscriptionList> ListAlertSubscriptions(ListAlertSubscriptionsRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var reply = new AlertSubscriptionList();
        var rows = await subscriptions.ListAsync(caller.Kind == Identity.OrganisationKind.PlatformOperator ? null : caller.OrganisationId, context.CancellationToken);
        reply.Subscriptions.AddRange(rows.Select(ToMessage));
        return reply;
    }

    public override async Task<DeleteAlertSubscriptionReply> DeleteAlertSubscription(DeleteAlertSubscriptionRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var id = request.Id > 0 ? request.Id : throw new RpcException(new Status(StatusCode.InvalidArgument, "id is required (a subscription id)."));
        return await subscriptions.DeleteAsync(id, caller.Kind == Identity.OrganisationKind.PlatformOperator ? null : caller.OrganisationId, context.CancellationToken)
            ? new DeleteAlertSubscriptionReply()
            : throw new RpcException(new Status(StatusCode.NotFound, $"subscription {id} not found."));
    }

    private static Protos.V1.AlertSubscription ToMessage(Audit.Alerts.AlertSubscription row)
    {
        var message = new Protos.V1.AlertSubscription
        {
            Id = row.Id,
            OrganisationId = row.OrganisationId,
            Channel = row.Channel,
            Target = row.Target,
            MinSeverity = row.MinSeverity,
            EscalateAfterMinutes = row.EscalateAfterMinutes ?? 0,
            CreatedBy = row.CreatedBy,
            CreatedAt = RequestValues.UtcText(row.CreatedAt),
        };
        message.Kinds.AddRange(row.Kinds);
        return message;
    }

    private static long AlertIdOf(long id) =>
        id > 0 ? id : throw new RpcException(new Status(StatusCode.InvalidArgument, "alert_id is required (a positive alert id)."));

    /// <summary>A caller who sees the city sees every alert; others those of their counties, pastures or plants.</summary>
    private static AlertVisibility? VisibilityOf(Identity.Caller caller) =>
        caller.SeesCity ? null : new AlertVisibility(caller.CountyIds, caller.PastureIds, caller.PlantIds);

    private static Alert ToMessage(AlertRow row)
    {
        var alert = new Alert
        {
            Id = row.Id,
            Kind = row.Kind,
            Severity = row.Severity,
            Subject = row.Subject,
            PastureId = row.PastureId ?? "",
            PlantId = row.PlantId ?? "",
            CountyId = row.CountyId ?? "",
            Message = row.Message,
            Since = RequestValues.UtcText(row.Since),
            RaisedAt = RequestValues.UtcText(row.RaisedAt),
            UpdatedAt = RequestValues.UtcText(row.UpdatedAt),
            Open = row.ClearedAt is null,
            ClearedAt = row.ClearedAt is { } cleared ? RequestValues.UtcText(cleared) : "",
            ClearReason = row.ClearReason ?? "",
            AcknowledgedAt = row.AcknowledgedAt is { } acknowledged ? RequestValues.UtcText(acknowledged) : "",
            AcknowledgedBy = row.AcknowledgedBy ?? "",
            Assignee = row.Assignee ?? "",
            ResolvedAt = row.ResolvedAt is { } resolved ? RequestValues.UtcText(resolved) : "",
            ResolvedBy = row.ResolvedBy ?? "",
            ResolutionNote = row.ResolutionNote ?? "",
        };
        foreach (var r in row.ParseReadings())
        {
            var evidence = new AlertEvidence
            {
                At = r.At.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture),
                Name = r.Name,
                Text = r.Text ?? "",
                Unit = r.Unit,
                Limit = r.Limit,
                Source = r.Source,
            };
            if (r.Value is { } value)
            {
                evidence.Value = value;
            }

            alert.Readings.Add(evidence);
        }

        return alert;
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "Alert stream answered UNAVAILABLE")]
    private partial void LogStreamUnavailable(Exception exception);
}

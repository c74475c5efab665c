using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>Configuration section <c>Audit:Notifications</c>: how alerts reach people.</summary>
public sealed class AlertNotificationOptions
{
    public const string Section = "Audit:Notifications";

    public bool Enabled { get; set; } = true;

    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Attempts per notification (the first and the retries, each after twice the delay before).</summary>
    [Range(1, 20)]
    public int Attempts { get; set; } = 5;

    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The SMTP relay for e-mail subscriptions; empty: e-mail is not configured and such notifications fail.</summary>
    public string SmtpHost { get; set; } = "";

    [Range(1, 65535)]
    public int SmtpPort { get; set; } = 25;

    public bool SmtpTls { get; set; }

    public string SmtpFrom { get; set; } = "hohhot-platform@localhost";
}

/// <summary>
/// Tells the subscribers: each alert raised (from the <c>alert_event</c> feed, from the moment the host started) goes
/// to every subscription that wants it, and an alert still unacknowledged <c>escalate_after_minutes</c> after it was
/// raised to the escalation subscriptions. Each notification is claimed in PostgreSQL first, so one host sends it once;
/// a webhook is POSTed as JSON signed with HMAC-SHA256 of the subscription's secret (header
/// <c>X-Hohhot-Signature: sha256=hex</c>), e-mail goes through the configured SMTP relay; failures are retried with
/// backoff and the outcome recorded.
/// </summary>
public sealed partial class AlertNotifier(
    AlertStore alerts,
    AlertSubscriptionStore subscriptions,
    NotificationSender sender,
    IOptions<AlertNotificationOptions> options,
    TimeProvider clock,
    ILogger<AlertNotifier> logger) : BackgroundService
{
    public const string SignatureHeader = NotificationSender.SignatureHeader;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.Enabled)
        {
            return;
        }

        long? cursor = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                cursor ??= await alerts.LatestEventIdAsync(stoppingToken);
                var all = await subscriptions.ListAsync(null, stoppingToken);
                foreach (var change in await alerts.ReadFeedAsync(cursor.Value, 500, stoppingToken))
                {
                    cursor = change.EventId;
                    if (change.Change != "raised")
                    {
                        continue;
                    }

                    foreach (var subscription in all)
                    {
                        if (subscription.EscalateAfterMinutes is null && subscription.Wants(change.Alert))
                        {
                            await NotifyAsync(subscription, change.Alert, "raised", stoppingToken);
                        }
                    }
                }

                foreach (var subscription in all)
                {
                    if (subscription.EscalateAfterMinutes is not { } minutes)
                    {
                        continue;
                    }

                    foreach (var alert in await subscriptions.UnacknowledgedAsync(clock.GetUtcNow().AddMinutes(-minutes), stoppingToken))
                    {
                        if (subscription.Wants(alert))
                        {
                            await NotifyAsync(subscription, alert, "escalation", stoppingToken);
                        }
                    }
                }
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                LogStoreUnavailable(exception);
            }

            await Task.Delay(o.PollInterval, clock, stoppingToken);
        }
    }

    private async Task NotifyAsync(AlertSubscription subscription, AlertRow alert, string trigger, CancellationToken cancellationToken)
    {
        if (!await subscriptions.ClaimAsync(subscription.Id, alert.Id, trigger, clock.GetUtcNow(), cancellationToken))
        {
            return;
        }

        var (attempts, error) = await sender.WithRetriesAsync(ct => SendAsync(subscription, alert, trigger, ct),
            (attempt, failure) => LogRetrying(subscription.Id, alert.Id, attempt, failure), cancellationToken);
        await subscriptions.RecordOutcomeAsync(subscription.Id, alert.Id, trigger, attempts, error, clock.GetUtcNow(), cancellationToken);
        if (error is null)
        {
            LogSent(trigger, alert.Id, subscription.Id, subscription.Channel);
        }
        else
        {
            LogFailed(trigger, alert.Id, subscription.Id, error);
        }
    }

    /// <summary>One attempt: null when delivered, else why not.</summary>
    private Task<string?> SendAsync(AlertSubscription subscription, AlertRow alert, string trigger, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.Serialize(new AlertNotification(trigger, subscription.Id, clock.GetUtcNow(), new NotifiedAlert(
            alert.Id, alert.Kind, alert.Severity, alert.Subject, alert.CountyId, alert.PastureId, alert.PlantId, alert.Message,
            new DateTimeOffset(DateTime.SpecifyKind(alert.Since, DateTimeKind.Utc)), new DateTimeOffset(DateTime.SpecifyKind(alert.RaisedAt, DateTimeKind.Utc)))), Json);
        if (subscription.Channel == AlertChannels.Webhook)
        {
            return sender.PostSignedAsync(subscription.Target, subscription.Secret ?? "", body, cancellationToken);
        }

        return sender.SendMailAsync([subscription.Target],
            $"[hohhot {alert.Severity}] {(trigger == "escalation" ? "unacknowledged: " : "")}{alert.Kind} {alert.Subject}",
            $"{alert.Message}\n\nalert {alert.Id.ToString(CultureInfo.InvariantCulture)}, raised {alert.RaisedAt:O}\n\n{body}\n", [], cancellationToken);
    }

    /// <summary>The signature a receiver recomputes (<see cref="NotificationSender.Sign"/>).</summary>
    public static string Sign(string secret, string body) => NotificationSender.Sign(secret, body);

    [LoggerMessage(EventId = 5301, Level = LogLevel.Information, Message = "Notified {Trigger} of alert {AlertId} to subscription {SubscriptionId} ({Channel})")]
    private partial void LogSent(string trigger, long alertId, long subscriptionId, string channel);

    [LoggerMessage(EventId = 5302, Level = LogLevel.Warning, Message = "Notification of alert {AlertId} to subscription {SubscriptionId} failed (attempt {Attempt}): {Error}; retrying")]
    private partial void LogRetrying(long subscriptionId, long alertId, int attempt, string error);

    [LoggerMessage(EventId = 5303, Level = LogLevel.Error, Message = "Notification {Trigger} of alert {AlertId} to subscription {SubscriptionId} failed for good: {Error}")]
    private partial void LogFailed(string trigger, long alertId, long subscriptionId, string error);

    [LoggerMessage(EventId = 5304, Level = LogLevel.Warning, Message = "Alert notifications wait for PostgreSQL")]
    private partial void LogStoreUnavailable(Exception exception);
}

/// <summary>The JSON a webhook receives (and an e-mail carries).</summary>
public sealed record AlertNotification(string Trigger, long SubscriptionId, DateTimeOffset SentAt, NotifiedAlert Alert);

public sealed record NotifiedAlert(long Id, string Kind, string Severity, string Subject, string? CountyId, string? PastureId, string? PlantId,
    string Message, DateTimeOffset Since, DateTimeOffset RaisedAt);

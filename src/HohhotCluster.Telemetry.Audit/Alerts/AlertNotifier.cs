using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net.Mail;
using System.Security.Cryptography;
using System.Text;
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
    IOptions<AlertNotificationOptions> options,
    TimeProvider clock,
    ILogger<AlertNotifier> logger) : BackgroundService
{
    public const string SignatureHeader = "X-Hohhot-Signature";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http = new() { Timeout = options.Value.RequestTimeout };

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

        var o = options.Value;
        var delay = o.FirstRetryDelay;
        string? error = null;
        var attempt = 0;
        while (++attempt <= o.Attempts)
        {
            error = await SendAsync(subscription, alert, trigger, cancellationToken);
            if (error is null || attempt == o.Attempts)
            {
                break;
            }

            LogRetrying(subscription.Id, alert.Id, attempt, error);
            await Task.Delay(delay, clock, cancellationToken);
            delay += delay;
        }

        await subscriptions.RecordOutcomeAsync(subscription.Id, alert.Id, trigger, Math.Min(attempt, o.Attempts), error, clock.GetUtcNow(), cancellationToken);
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
    private async Task<string?> SendAsync(AlertSubscription subscription, AlertRow alert, string trigger, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.Serialize(new AlertNotification(trigger, subscription.Id, clock.GetUtcNow(), new NotifiedAlert(
            alert.Id, alert.Kind, alert.Severity, alert.Subject, alert.CountyId, alert.PastureId, alert.PlantId, alert.Message,
            new DateTimeOffset(DateTime.SpecifyKind(alert.Since, DateTimeKind.Utc)), new DateTimeOffset(DateTime.SpecifyKind(alert.RaisedAt, DateTimeKind.Utc)))), Json);
        try
        {
            if (subscription.Channel == AlertChannels.Webhook)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, subscription.Target) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                request.Headers.Add(SignatureHeader, Sign(subscription.Secret ?? "", body));
                using var response = await _http.SendAsync(request, cancellationToken);
                return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
            }

            var o = options.Value;
            if (o.SmtpHost.Length == 0)
            {
                return "e-mail is not configured (Audit:Notifications:SmtpHost)";
            }

            using var smtp = new SmtpClient(o.SmtpHost, o.SmtpPort) { EnableSsl = o.SmtpTls, Timeout = (int)o.RequestTimeout.TotalMilliseconds };
            using var mail = new MailMessage(o.SmtpFrom, subscription.Target)
            {
                Subject = $"[hohhot {alert.Severity}] {(trigger == "escalation" ? "unacknowledged: " : "")}{alert.Kind} {alert.Subject}",
                Body = $"{alert.Message}\n\nalert {alert.Id.ToString(CultureInfo.InvariantCulture)}, raised {alert.RaisedAt:O}\n\n{body}\n",
                BodyEncoding = Encoding.UTF8,
                SubjectEncoding = Encoding.UTF8,
            };
            await smtp.SendMailAsync(mail, cancellationToken);
            return null;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or SmtpException or IOException
            && !cancellationToken.IsCancellationRequested)
        {
            return exception.Message;
        }
    }

    /// <summary>The signature a receiver recomputes: <c>sha256=</c> and the hex HMAC-SHA256 of the body with the subscription's secret.</summary>
    public static string Sign(string secret, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

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

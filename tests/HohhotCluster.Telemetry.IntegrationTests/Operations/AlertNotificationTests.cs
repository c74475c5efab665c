using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.Operations;

/// <summary>
/// Alert notifications from a real platform to a real webhook receiver (an HttpListener in the test, failing its
/// first request) and a real SMTP server (Debian's aiosmtpd, writing a Maildir), and escalation of an alert nobody
/// acknowledged.
/// </summary>
public sealed class AlertNotificationTests : IAsyncLifetime
{
    private const string Secret = "webhook-secret-of-the-test-0123";
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<(string Path, string Body, string? Signature)> _received = new();
    private readonly string _mailDir = Path.Combine(Path.GetTempPath(), TestServers.UniqueName("mail"));
    private readonly int _hookPort = PlatformProcess.FreePort();
    private readonly int _smtpPort = PlatformProcess.FreePort();
    private Process? _smtp;
    private PlatformProcess _platform = null!;
    private int _requests;

    public async Task InitializeAsync()
    {
        _listener.Prefixes.Add($"http://127.0.0.1:{_hookPort}/");
        _listener.Start();
        _ = Task.Run(ServeAsync);
        _smtp = Process.Start(new ProcessStartInfo("/usr/bin/aiosmtpd", ["-n", "-l", $"127.0.0.1:{_smtpPort}", "-c", "aiosmtpd.handlers.Mailbox", _mailDir])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("aiosmtpd did not start (apt-get install python3-aiosmtpd)");
        var up = await Eventually.WaitAsync(async () =>
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, _smtpPort);
                return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
                return false;
            }
        }, ok => ok, TimeSpan.FromSeconds(20));
        Assert.True(up, "aiosmtpd does not listen");
        _platform = await PlatformProcess.StartAsync(settings: new Dictionary<string, string>
        {
            ["Audit__Notifications__PollInterval"] = "00:00:00.200",
            ["Audit__Notifications__FirstRetryDelay"] = "00:00:00.100",
            ["Audit__Notifications__SmtpHost"] = "127.0.0.1",
            ["Audit__Notifications__SmtpPort"] = _smtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    public async Task DisposeAsync()
    {
        await _platform.DisposeAsync();
        _listener.Stop();
        if (_smtp is { HasExited: false })
        {
            _smtp.Kill();
            await _smtp.WaitForExitAsync();
        }

        _smtp?.Dispose();
    }

    /// <summary>The receiver: the first request is answered 500 (the platform must retry), the rest 204.</summary>
    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception exception) when (exception is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            if (Interlocked.Increment(ref _requests) == 1)
            {
                context.Response.StatusCode = 500;
            }
            else
            {
                _received.Enqueue((context.Request.Url!.AbsolutePath, body, context.Request.Headers["X-Hohhot-Signature"]));
                context.Response.StatusCode = 204;
            }

            context.Response.Close();
        }
    }

    /// <summary>A Maildir message as headers and its (base64, UTF-8) body decoded.</summary>
    private static string ReadMail(string file)
    {
        var text = File.ReadAllText(file).Replace("\r\n", "\n", StringComparison.Ordinal);
        var split = text.IndexOf("\n\n", StringComparison.Ordinal);
        var headers = text[..split];
        var body = text[(split + 2)..];
        if (headers.Contains("Content-Transfer-Encoding: base64", StringComparison.OrdinalIgnoreCase))
        {
            body = Encoding.UTF8.GetString(Convert.FromBase64String(body.Replace("\n", "", StringComparison.Ordinal)));
        }

        return headers + "\n\n" + body;
    }

    private async Task<long> RaiseAsync(string severity, TimeSpan ago, bool acknowledged = false)
    {
        await using var data = NpgsqlDataSource.Create(_platform.PostgresConnection);
        await using var command = data.CreateCommand(
            """
            with a as (
                insert into alert (alert_key, kind, severity, subject, county_id, message, since, raised_at, updated_at, acknowledged_at, acknowledged_by)
                values ($1, 'bulk_tank_temperature', $2, 'tank:P1/T1', 'c1', 'tank above 6 °C', $3, $3, $3,
                        case when $4 then $3 end, case when $4 then 'someone' end)
                returning id)
            insert into alert_event (alert_id, change, at) select id, 'raised', now() from a returning alert_id
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "k-" + Guid.NewGuid().ToString("N") });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = severity });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = DateTime.UtcNow - ago });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = acknowledged });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task A_raised_alert_reaches_the_signed_webhook_after_a_retry_and_the_mailbox_and_an_unacknowledged_one_escalates()
    {
        var alerts = new AlertService.AlertServiceClient(_platform.Channel);
        var hook = await alerts.CreateAlertSubscriptionAsync(new CreateAlertSubscriptionRequest
        {
            Channel = "webhook", Target = $"http://127.0.0.1:{_hookPort}/raised", Secret = Secret, MinSeverity = "warning", Kinds = { "bulk_tank_temperature" },
        });
        await alerts.CreateAlertSubscriptionAsync(new CreateAlertSubscriptionRequest { Channel = "email", Target = "duty@example.org", MinSeverity = "critical" });
        var escalation = await alerts.CreateAlertSubscriptionAsync(new CreateAlertSubscriptionRequest
        {
            Channel = "webhook", Target = $"http://127.0.0.1:{_hookPort}/escalation", Secret = Secret, EscalateAfterMinutes = 5,
        });
        var bad = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await alerts.CreateAlertSubscriptionAsync(
            new CreateAlertSubscriptionRequest { Channel = "webhook", Target = "http://203.0.113.9/hook", Secret = Secret }));
        Assert.Contains("target 'http://203.0.113.9/hook'", bad.Status.Detail, StringComparison.Ordinal);

        var info = await RaiseAsync("info", TimeSpan.Zero);
        var acknowledgedLongAgo = await RaiseAsync("critical", TimeSpan.FromMinutes(30), acknowledged: true);
        var critical = await RaiseAsync("critical", TimeSpan.FromMinutes(10));

        var received = await Eventually.WaitAsync(() => Task.FromResult(_received.ToArray()),
            r => r.Any(x => x.Path == "/raised" && x.Body.Contains($"\"id\":{critical},", StringComparison.Ordinal))
                && r.Any(x => x.Path == "/escalation" && x.Body.Contains($"\"id\":{critical},", StringComparison.Ordinal)), TimeSpan.FromSeconds(60));
        var raised = received.Where(r => r.Path == "/raised").ToList();
        Assert.Contains(raised, r => r.Body.Contains($"\"id\":{critical},", StringComparison.Ordinal));
        // The info alert is below the subscription's severity; the events are handled in order, so it was skipped.
        Assert.DoesNotContain(raised, r => r.Body.Contains($"\"id\":{info},", StringComparison.Ordinal));
        foreach (var (_, body, signature) in received)
        {
            // Recomputed here as a receiver would: sha256= and the hex HMAC-SHA256 of the body with the shared secret.
            var expected = "sha256=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(body)));
            Assert.Equal(expected, signature);
        }

        var escalated = received.Where(r => r.Path == "/escalation").ToList();
        Assert.Contains(escalated, r => r.Body.Contains("\"trigger\":\"escalation\"", StringComparison.Ordinal) && r.Body.Contains($"\"id\":{critical},", StringComparison.Ordinal));
        Assert.DoesNotContain(escalated, r => r.Body.Contains($"\"id\":{acknowledgedLongAgo},", StringComparison.Ordinal));

        // The first POST got a 500: one of the notifications took two attempts, and is recorded as sent.
        await using var data = NpgsqlDataSource.Create(_platform.PostgresConnection);
        await using (var command = data.CreateCommand("select max(attempts) from alert_notification where status = 'sent'"))
        {
            Assert.Equal(2, Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
        }

        var mail = await Eventually.WaitAsync(
            () => Task.FromResult(Directory.Exists(Path.Combine(_mailDir, "new")) ? Directory.GetFiles(Path.Combine(_mailDir, "new")).Select(ReadMail).ToArray() : []),
            m => m.Any(x => x.Contains($"alert {critical},", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));
        var message = Assert.Single(mail, m => m.Contains($"alert {critical},", StringComparison.Ordinal));
        Assert.Contains("To: duty@example.org", message, StringComparison.Ordinal);
        Assert.Contains("[hohhot critical] bulk_tank_temperature tank:P1/T1", message, StringComparison.Ordinal);

        var listed = await alerts.ListAlertSubscriptionsAsync(new ListAlertSubscriptionsRequest());
        Assert.Equal(3, listed.Subscriptions.Count);
        await alerts.DeleteAlertSubscriptionAsync(new DeleteAlertSubscriptionRequest { Id = escalation.Id });
        Assert.DoesNotContain((await alerts.ListAlertSubscriptionsAsync(new ListAlertSubscriptionsRequest())).Subscriptions, s => s.Id == escalation.Id);
        Assert.True(hook.Id > 0);
    }
}

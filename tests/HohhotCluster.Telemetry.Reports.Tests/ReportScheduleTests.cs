using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using MiniExcelLibs;
using Npgsql;

namespace HohhotCluster.Telemetry.Reports.Tests;

/// <summary>
/// Schedules against a fake clock on a real PostgreSQL: a weekly schedule fires once for its week, not again after a
/// restart (a new scheduler), and catches up the weeks it missed; a stale claim is taken over; a past period re-run
/// gives the same content; a webhook that fails is retried and the outcome recorded; e-mail reaches a real SMTP server.
/// </summary>
public sealed class ReportScheduleTests(ReportWorld world) : IClassFixture<ReportWorld>
{
    private async Task<ReportScheduleRow> ScheduleAsync(string organisation, string cadence, int hour, int? weekday = null, string[]? formats = null,
        string? webhook = null, string[]? email = null, TimeProvider? clock = null) =>
        await world.Store.CreateScheduleAsync(new ReportScheduleRow
        {
            OrganisationId = organisation,
            Kind = ReportKinds.Audit,
            Scope = "",
            Cadence = cadence,
            LocalHour = hour,
            Weekday = weekday,
            Formats = formats ?? ["xlsx", "csv"],
            WebhookUrl = webhook,
            WebhookSecret = webhook is null ? null : "a-webhook-secret-0123456789",
            EmailTo = email ?? [],
            CreatedBy = "test",
            CreatedAt = (clock ?? world.Clock).GetUtcNow().UtcDateTime,
        }, default);

    /// <summary>A China-time instant of 2026.</summary>
    private static DateTimeOffset At(int month, int day, int hour) => new(2026, month, day, hour, 0, 0, TimeSpan.FromHours(8));

    private async Task<List<(DateTime From, DateTime To, int Attempts)>> ScheduledRunsAsync(long scheduleId)
    {
        await using var command = world.DataSource.CreateCommand(
            "select period_from, period_to, attempts from report_run where schedule_id = $1 and trigger = 'schedule' order by period_from");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = scheduleId });
        var runs = new List<(DateTime, DateTime, int)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            runs.Add((reader.GetDateTime(0), reader.GetDateTime(1), reader.GetInt32(2)));
        }

        return runs;
    }

    [Fact]
    public async Task A_weekly_schedule_fires_once_for_its_week_not_again_after_a_restart_and_catches_up_missed_weeks()
    {
        // Created on Wednesday 2026-04-01 08:00 (China) or later; weekly on Monday at 06:00.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(At(4, 1, 8));
        var schedule = await ScheduleAsync("reg-city", ReportCadences.Weekly, 6, weekday: 1, clock: clock);
        var runner = world.Runner(clock: clock);
        Assert.DoesNotContain(await world.Scheduler(runner, clock).RunDueAsync(default), r => r.ScheduleId == schedule.Id);

        clock.SetUtcNow(At(4, 6, 5)); // Monday, before the hour: not yet
        Assert.DoesNotContain(await world.Scheduler(runner, clock).RunDueAsync(default), r => r.ScheduleId == schedule.Id);

        clock.SetUtcNow(At(4, 6, 7));
        var first = Assert.Single(await world.Scheduler(runner, clock).RunDueAsync(default), r => r.ScheduleId == schedule.Id);
        Assert.Equal((new DateTime(2026, 3, 30), new DateTime(2026, 4, 5)), (first.PeriodFrom, first.PeriodTo));
        Assert.Equal("succeeded", first.Status);
        Assert.Equal(3, first.FileList.Count); // the XLSX and a CSV per table
        Assert.All(first.FileList, f => Assert.True(File.Exists(f.Path), f.Path));

        // The same pass again, and a restarted host (a new scheduler over the same database): nothing more.
        var scheduler = world.Scheduler(runner, clock);
        Assert.DoesNotContain(await scheduler.RunDueAsync(default), r => r.ScheduleId == schedule.Id);
        Assert.DoesNotContain(await world.Scheduler(world.Runner(clock: clock), clock).RunDueAsync(default), r => r.ScheduleId == schedule.Id);

        // The host was down for two weeks: both are caught up, in order, once.
        clock.SetUtcNow(At(4, 20, 9));
        var caughtUp = (await world.Scheduler(world.Runner(clock: clock), clock).RunDueAsync(default)).Where(r => r.ScheduleId == schedule.Id).ToList();
        Assert.Equal([(new DateTime(2026, 4, 6), new DateTime(2026, 4, 12)), (new DateTime(2026, 4, 13), new DateTime(2026, 4, 19))],
            caughtUp.Select(r => (r.PeriodFrom, r.PeriodTo)));
        Assert.DoesNotContain(await world.Scheduler(world.Runner(clock: clock), clock).RunDueAsync(default), r => r.ScheduleId == schedule.Id);
        Assert.Equal(3, (await ScheduledRunsAsync(schedule.Id)).Count);
        await world.Store.DeleteScheduleAsync(schedule.Id, "reg-city", clock.GetUtcNow(), default);
    }

    [Fact]
    public async Task A_claim_left_running_by_a_stopped_host_is_taken_over_once_stale()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(At(4, 21, 8));
        var schedule = await ScheduleAsync("reg-b", ReportCadences.Daily, 7, clock: clock);
        clock.SetUtcNow(At(4, 22, 8));
        // A host claimed 21 April at 07:50 and died.
        var claimed = await world.Store.ClaimScheduledAsync(schedule, new DateOnly(2026, 4, 21), new DateOnly(2026, 4, 21),
            clock.GetUtcNow().AddMinutes(-10), clock.GetUtcNow().AddHours(-1), default);
        Assert.NotNull(claimed);
        Assert.DoesNotContain(await world.Scheduler(world.Runner(clock: clock), clock).RunDueAsync(default), r => r.ScheduleId == schedule.Id);

        clock.Advance(TimeSpan.FromMinutes(21)); // past ReportOptions.StaleRunAfter (30 min) since the claim
        var run = Assert.Single(await world.Scheduler(world.Runner(clock: clock), clock).RunDueAsync(default), r => r.ScheduleId == schedule.Id);
        Assert.Equal((claimed, 2, "succeeded"), (run.Id, run.Attempts, run.Status));
        Assert.Equal([(new DateTime(2026, 4, 21), new DateTime(2026, 4, 21), 2)], await ScheduledRunsAsync(schedule.Id));
        await world.Store.DeleteScheduleAsync(schedule.Id, "reg-b", clock.GetUtcNow(), default);
    }

    [Fact]
    public async Task A_rerun_of_a_past_period_gives_the_same_content()
    {
        var schedule = await ScheduleAsync("reg-city", ReportCadences.Daily, 6);
        var runner = world.Runner();
        var first = await runner.RunNowAsync(schedule, ReportWorld.WeekFrom, ReportWorld.WeekTo, "tester", default);
        var again = await runner.RunNowAsync(schedule, ReportWorld.WeekFrom, ReportWorld.WeekTo, "tester", default);
        Assert.NotEqual(first.Id, again.Id);
        Assert.Equal(("manual", "succeeded"), (again.Trigger, again.Status));
        Assert.Equal(first.Digest, again.Digest);
        Assert.Matches("^[0-9a-f]{64}$", first.Digest);
        foreach (var (a, b) in first.FileList.Zip(again.FileList))
        {
            Assert.Equal(a.FileName, b.FileName);
            Assert.NotEqual(a.Path, b.Path);
            if (a.FileName.EndsWith(".csv", StringComparison.Ordinal))
            {
                Assert.Equal(a.Sha256, b.Sha256);
            }
            else
            {
                foreach (var sheet in new[] { "pass_rates", "failing_samples" })
                {
                    Assert.Equal(Cells(a.Path, sheet), Cells(b.Path, sheet));
                }
            }
        }

        Assert.Contains("R3", string.Join(",", Cells(first.FileList.Single(f => f.FileName.EndsWith(".xlsx", StringComparison.Ordinal)).Path, "failing_samples")), StringComparison.Ordinal);
        var future = await Assert.ThrowsAsync<ReportRequestException>(() => runner.RunNowAsync(schedule, Contracts.ChinaTime.Today(world.Clock), Contracts.ChinaTime.Today(world.Clock), "tester", default));
        Assert.Contains("to_date", future.Message, StringComparison.Ordinal);
        await world.Store.DeleteScheduleAsync(schedule.Id, "reg-city", world.Clock.GetUtcNow(), default);

        static List<string> Cells(string path, string sheet) =>
            MiniExcel.Query(path, useHeaderRow: false, sheetName: sheet).Cast<IDictionary<string, object?>>()
                .Select(r => string.Join("|", r.Values.Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)))).ToList();
    }

    [Fact]
    public async Task A_failed_webhook_is_retried_and_recorded_and_one_that_never_answers_fails_the_run()
    {
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var received = new ConcurrentQueue<(string Body, string? Signature)>();
        var requests = 0;
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception exception) when (exception is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                // The first request is refused: the platform must try again.
                context.Response.StatusCode = Interlocked.Increment(ref requests) == 1 ? 500 : 204;
                if (context.Response.StatusCode == 204)
                {
                    received.Enqueue((body, context.Request.Headers[NotificationSender.SignatureHeader]));
                }

                context.Response.Close();
            }
        });

        var schedule = await ScheduleAsync("proc", ReportCadences.Daily, 6, formats: ["csv"], webhook: $"http://127.0.0.1:{port}/reports");
        var run = await world.Runner(attempts: 3).RunNowAsync(schedule, ReportWorld.WeekFrom, ReportWorld.WeekTo, "tester", default);
        Assert.Equal("succeeded", run.Status);
        var hook = Assert.Single(run.DeliveryList, d => d.Channel == "webhook");
        Assert.Equal((true, 2, ""), (hook.Delivered, hook.Attempts, hook.Error));
        Assert.Contains(run.DeliveryList, d => d.Channel == "folder" && d.Delivered);
        var (body, signature) = Assert.Single(received);
        Assert.Equal(NotificationSender.Sign("a-webhook-secret-0123456789", body), signature);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(run.Id, json.RootElement.GetProperty("runId").GetInt64());
        Assert.Equal(["plant:PL"], json.RootElement.GetProperty("scopes").EnumerateArray().Select(e => e.GetString()));
        var csv = json.RootElement.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("fileName").GetString()!.EndsWith("-failing_samples.csv", StringComparison.Ordinal));
        Assert.Contains("R3", Encoding.UTF8.GetString(Convert.FromBase64String(csv.GetProperty("contentBase64").GetString()!)), StringComparison.Ordinal);
        listener.Stop();
        await serving;

        // Nobody listens any more: three attempts, all refused; the run is failed and says why, its files still written.
        var dead = await world.Runner(attempts: 3).RunNowAsync(schedule, ReportWorld.WeekFrom, ReportWorld.WeekTo, "tester", default);
        Assert.Equal("failed", dead.Status);
        var failed = Assert.Single(dead.DeliveryList, d => d.Channel == "webhook");
        Assert.Equal((false, 3), (failed.Delivered, failed.Attempts));
        Assert.StartsWith("webhook: ", dead.Error, StringComparison.Ordinal);
        Assert.All(dead.FileList, f => Assert.True(File.Exists(f.Path)));
        await world.Store.DeleteScheduleAsync(schedule.Id, "proc", world.Clock.GetUtcNow(), default);
    }

    [Fact]
    public async Task A_scheduled_report_reaches_the_mailbox_with_its_files_attached()
    {
        var port = FreePort();
        var mailDir = Path.Combine(Path.GetTempPath(), TestServers.UniqueName("mail"));
        using var smtp = Process.Start(new ProcessStartInfo("/usr/bin/aiosmtpd", ["-n", "-l", $"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", mailDir])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("aiosmtpd did not start (apt-get install python3-aiosmtpd)");
        try
        {
            Assert.True(await Eventually.WaitAsync(async () =>
            {
                try
                {
                    using var probe = new System.Net.Sockets.TcpClient();
                    await probe.ConnectAsync(IPAddress.Loopback, port);
                    return true;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    return false;
                }
            }, ok => ok, TimeSpan.FromSeconds(20)), "aiosmtpd does not listen");

            var schedule = await ScheduleAsync("reg-b", ReportCadences.Daily, 6, formats: ["xlsx"], email: ["inspector@example.org", "deputy@example.org"]);
            var run = await world.Runner(smtpHost: "127.0.0.1", smtpPort: port).RunNowAsync(schedule, ReportWorld.WeekFrom, ReportWorld.WeekTo, "tester", default);
            Assert.Equal("succeeded", run.Status);
            var mail = Assert.Single(run.DeliveryList, d => d.Channel == "email");
            Assert.Equal((true, 1), (mail.Delivered, mail.Attempts));
            var files = await Eventually.WaitAsync(
                () => Task.FromResult(Directory.Exists(Path.Combine(mailDir, "new")) ? Directory.GetFiles(Path.Combine(mailDir, "new")) : []),
                f => f.Length > 0, TimeSpan.FromSeconds(20));
            var message = await File.ReadAllTextAsync(Assert.Single(files));
            Assert.Contains("inspector@example.org", message, StringComparison.Ordinal);
            Assert.Contains("deputy@example.org", message, StringComparison.Ordinal);
            Assert.Contains("audit-county_cB-20260302-20260308.xlsx", message, StringComparison.Ordinal);
            Assert.Contains(ReportWriters.XlsxContentType, message, StringComparison.Ordinal);
            await world.Store.DeleteScheduleAsync(schedule.Id, "reg-b", world.Clock.GetUtcNow(), default);
        }
        finally
        {
            if (!smtp.HasExited)
            {
                smtp.Kill();
                await smtp.WaitForExitAsync();
            }
        }
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}

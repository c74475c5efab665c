using Grpc.Core;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.Operations;

/// <summary>The alert workflow through the API and the CLI of a real platform: acknowledge, assign, resolve with a note, history.</summary>
public sealed class AlertWorkflowTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private PlatformProcess Platform => fixture.Platform;
    private AlertService.AlertServiceClient Alerts => new(Platform.Channel);

    /// <summary>An open alert as the alert grains raise it (the workflow does not care which kind raised it).</summary>
    private async Task<long> RaiseAsync()
    {
        await using var data = NpgsqlDataSource.Create(Platform.PostgresConnection);
        await using var command = data.CreateCommand(
            """
            with a as (
                insert into alert (alert_key, kind, severity, subject, county_id, message, since, raised_at, updated_at)
                values ($1, 'bulk_tank_temperature', 'critical', 'tank:P1/T1', 'c1', 'tank above 6 °C for 2 h', now(), now(), now())
                returning id)
            insert into alert_event (alert_id, change, at) select id, 'raised', now() from a returning alert_id
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "k-" + Guid.NewGuid().ToString("N") });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task An_alert_is_acknowledged_once_assigned_resolved_with_a_note_and_each_step_is_in_its_history_and_the_feed()
    {
        var id = await RaiseAsync();
        var acknowledged = await Alerts.AcknowledgeAlertAsync(new AcknowledgeAlertRequest { AlertId = id });
        Assert.Equal("operator", acknowledged.AcknowledgedBy);
        Assert.NotEmpty(acknowledged.AcknowledgedAt);
        Assert.True(acknowledged.Open);

        var twice = await Assert.ThrowsAsync<RpcException>(async () => await Alerts.AcknowledgeAlertAsync(new AcknowledgeAlertRequest { AlertId = id }));
        Assert.Equal(StatusCode.FailedPrecondition, twice.StatusCode);
        Assert.Contains("acknowledged by operator", twice.Status.Detail, StringComparison.Ordinal);

        var nobody = await Assert.ThrowsAsync<RpcException>(async () => await Alerts.AssignAlertAsync(new AssignAlertRequest { AlertId = id, Assignee = "no-such-account" }));
        Assert.Equal(StatusCode.InvalidArgument, nobody.StatusCode);
        Assert.Contains("assignee 'no-such-account'", nobody.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("operator", (await Alerts.AssignAlertAsync(new AssignAlertRequest { AlertId = id, Assignee = "operator" })).Assignee);

        var noNote = await Assert.ThrowsAsync<RpcException>(async () => await Alerts.ResolveAlertAsync(new ResolveAlertRequest { AlertId = id, Note = "  " }));
        Assert.Equal(StatusCode.InvalidArgument, noNote.StatusCode);
        Assert.Contains("note is required", noNote.Status.Detail, StringComparison.Ordinal);

        // Resolved through the CLI, as an operator would.
        var token = await Platform.OperatorTokenAsync();
        var (exitCode, output) = await CommandLine.RunAsync("src/HohhotCluster.Telemetry.Cli", "hohhot",
            "alerts", "resolve", "--id", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--note", "compressor restarted, tank at 3.8 °C",
            "--api", Platform.ApiUrl, "--token", token);
        Assert.True(exitCode == 0, output);
        Assert.Contains("\"resolutionNote\": \"compressor restarted, tank at 3.8 °C\"", output, StringComparison.Ordinal);

        var again = await Assert.ThrowsAsync<RpcException>(async () => await Alerts.ResolveAlertAsync(new ResolveAlertRequest { AlertId = id, Note = "again" }));
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
        Assert.Contains("resolved by operator", again.Status.Detail, StringComparison.Ordinal);

        var history = await Alerts.GetAlertHistoryAsync(new GetAlertHistoryRequest { AlertId = id });
        Assert.False(history.Alert.Open);
        Assert.Equal("resolved: compressor restarted, tank at 3.8 °C", history.Alert.ClearReason);
        Assert.Equal(["acknowledged", "assigned", "resolved"], history.Actions.Select(a => a.Action));
        Assert.All(history.Actions, a => Assert.Equal("operator", a.AccountId));
        Assert.Equal("operator", history.Actions[1].Assignee);
        Assert.Equal("compressor restarted, tank at 3.8 °C", history.Actions[2].Note);
        Assert.True(string.CompareOrdinal(history.Actions[0].At, history.Actions[2].At) <= 0);

        // Subscribers see each step as a change of the feed.
        using var feed = Alerts.SubscribeAlerts(new SubscribeAlertsRequest { Replay = true }, deadline: DateTime.UtcNow.AddSeconds(10));
        var changes = new List<string>();
        try
        {
            while (await feed.ResponseStream.MoveNext() && changes.Count < 4)
            {
                if (feed.ResponseStream.Current.Alert.Id == id)
                {
                    changes.Add(feed.ResponseStream.Current.Change);
                }
            }
        }
        catch (RpcException exception) when (exception.StatusCode == StatusCode.DeadlineExceeded)
        {
        }

        Assert.Equal(["raised", "acknowledged", "assigned", "resolved"], changes);
    }

    [Fact]
    public async Task A_step_on_an_alert_that_does_not_exist_is_not_found_and_an_id_of_zero_invalid()
    {
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await Alerts.AcknowledgeAlertAsync(new AcknowledgeAlertRequest { AlertId = 987_654_321 }));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        var zero = await Assert.ThrowsAsync<RpcException>(async () => await Alerts.GetAlertHistoryAsync(new GetAlertHistoryRequest()));
        Assert.Equal(StatusCode.InvalidArgument, zero.StatusCode);
        Assert.Contains("alert_id", zero.Status.Detail, StringComparison.Ordinal);
    }
}

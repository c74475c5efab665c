using Dapper;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using MQTTnet;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// A reading that fails its batch every time, for a reason that is no outage, must not hold back anybody else. The
/// failure is injected for real: a trigger in the platform's own database refuses that one reading's digest row
/// (SQLSTATE P0001), so every batch holding it fails. The batch is split until the reading is alone, which is then
/// quarantined as <c>processing_failed</c> with the error, and every other reading is applied.
/// </summary>
public sealed class PoisonMessageTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private PlatformProcess Platform => fixture.Platform;

    [Fact]
    public async Task A_reading_that_always_fails_its_batch_is_isolated_and_quarantined_and_the_rest_is_counted()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        const int poisonSeq = 37;
        await using (var connection = new NpgsqlConnection(Platform.PostgresConnection))
        {
            await connection.ExecuteAsync($"""
                create or replace function poison_{fleet.Prefix}() returns trigger language plpgsql as $$
                begin raise exception 'injected failure for %/%', new.device_id, new.seq; end $$;
                create trigger poison_{fleet.Prefix} before insert on reading_digest for each row
                    when (new.device_id = '{fleet.MeterA}' and new.seq = {poisonSeq}) execute function poison_{fleet.Prefix}();
                """);
        }

        try
        {
            var milkings = Enumerable.Range(1, 100)
                .Select(seq => Payloads.Milking(fleet.MeterA, seq, ThroughputProbe.At(day, 9, 0).AddSeconds(seq), fleet.HerdA1, 10))
                .ToList();
            await using var pasture = await Gateway.ConnectAsync(Platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
            await using var plant = await Gateway.ConnectAsync(Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));

            // The plant's readings go in while the pasture's batch (with the poison) is being taken apart.
            var plantPublishing = Task.Run(async () =>
            {
                for (var seq = 1; seq <= 20; seq++)
                {
                    Assert.True(await plant.PublishAsync(Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake"),
                        Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 10, seq), "TL-" + seq, 1_000)));
                }
            });
            var answer = await pasture.PublishForResultAsync(Payloads.BatchTopic("pasture", fleet.PastureA), Payloads.Batch("milking", milkings));
            await plantPublishing.WaitAsync(TimeSpan.FromSeconds(120));

            Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, answer.ReasonCode);
            Assert.StartsWith("1 of 100 readings quarantined; readings[36]: processing_failed:", answer.ReasonString, StringComparison.Ordinal);
            var pastureA = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Pasture, fleet.PastureA, 99, 0, 0);
            Assert.Equal((99L, 0.99), (pastureA.MilkingCount, pastureA.MilkedT));
            var plantDay = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 20);
            Assert.Equal(20, plantDay.IntakeCount);

            var row = Assert.Single(await QuarantineProbe.ReadAsync(Platform, $"hohhot/v1/pasture/{fleet.PastureA}/"));
            Assert.Equal("processing_failed", row.Reason);
            Assert.Contains("injected failure", row.Detail, StringComparison.Ordinal);
            Assert.Equal(fleet.MeterA, row.DeviceId);
            Assert.Contains($"\"seq\":{poisonSeq},", System.Text.Encoding.UTF8.GetString(row.Payload), StringComparison.Ordinal);
        }
        finally
        {
            await using var connection = new NpgsqlConnection(Platform.PostgresConnection);
            await connection.ExecuteAsync($"drop trigger poison_{fleet.Prefix} on reading_digest; drop function poison_{fleet.Prefix}();");
        }
    }
}

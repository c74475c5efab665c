using System.Text;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.Traceability.Tanker;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>The <c>tanker_log</c> kind as ingestion drives it (parse, check, apply, points) against a real PostgreSQL.</summary>
public sealed class TankerLogKindTests(ChainDatabase db) : IClassFixture<ChainDatabase>
{
    private static string Prefix() => "g" + Guid.NewGuid().ToString("N")[..8];

    private TankerLogKind Kind => new(db.TankerLogs);

    [Fact]
    public async Task A_reading_for_a_load_the_platform_does_not_know_yet_is_accepted_and_stored()
    {
        var c = new HandBuiltChain(Prefix());

        var (outcome, rejection) = await db.TryPublishAsync(Kind, ChainDatabase.Device(c.Plant, "plant"), HandBuiltChain.Day.AddHours(2),
            TankerLogStoreTests.Log(c.T1, 4.0, 4.2, 40.8));

        Assert.Null(rejection);
        Assert.Equal(ApplyOutcome.Applied, outcome);
        Assert.Single((await db.TankerLogs.RoadsAsync([c.T1], default))[c.T1].Readings);
    }

    [Fact]
    public async Task A_reading_for_a_load_another_plant_weighed_in_is_refused_naming_the_load_and_the_plant()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);

        var (outcome, rejection) = await db.TryPublishAsync(Kind, ChainDatabase.Device(c.Plant + "-OTHER", "plant"), HandBuiltChain.Day.AddHours(2),
            TankerLogStoreTests.Log(c.T1, 4.0, 4.2, 40.8));

        Assert.Null(outcome);
        Assert.Equal(QuarantineReasons.InvalidField, rejection!.Value.Reason);
        Assert.Contains($"tankerLoadId: tanker load '{c.T1}' was weighed in by plant '{c.Plant}'", rejection.Value.Detail, StringComparison.Ordinal);
        Assert.False((await db.TankerLogs.RoadsAsync([c.T1], default))[c.T1].Readings.Any());
    }

    [Fact]
    public async Task The_plant_that_weighed_the_load_in_may_still_send_its_readings()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);

        var (outcome, rejection) = await db.TryPublishAsync(Kind, ChainDatabase.Device(c.Plant, "plant"), HandBuiltChain.Day.AddHours(2),
            TankerLogStoreTests.Log(c.T1, 4.0, 4.2, 40.8));

        Assert.Null(rejection);
        Assert.Equal(ApplyOutcome.Applied, outcome);
    }

    [Fact]
    public void The_point_has_a_field_per_compartment_the_warmest_and_the_position_and_no_load_tag()
    {
        using var document = System.Text.Json.JsonDocument.Parse(TankerLogStoreTests.Log("TL-9", 3.5, 8.25, 40.8));
        var key = new ReadingKey("PL-1-TL1", 1764345600, 42);
        Assert.True(Kind.TryParse(document.RootElement, key, HandBuiltChain.Day, out var record, out _));
        var writer = new LineProtocolWriter();
        var device = new DeviceContext { DeviceId = "PL-1-TL1", OwnerKind = "plant", OwnerId = "PL-1", CountyId = "150105" };

        Kind.WritePoints(writer, new Accepted<TankerLogRecord>(key, HandBuiltChain.Day, device, "t", record));

        var line = Encoding.UTF8.GetString(writer.WrittenMemory.Span);
        Assert.StartsWith("tanker_log,boot=1764345600,county=150105,device=PL-1-TL1,plant=PL-1 ", line, StringComparison.Ordinal);
        Assert.Contains("c1_temperature_c=3.5,c2_temperature_c=8.25,max_temperature_c=8.25,latitude_deg=40.8,longitude_deg=111.7,speed_kmh=55,seq=42i", line, StringComparison.Ordinal);
        Assert.DoesNotContain("TL-9", line, StringComparison.Ordinal);
    }

    [Fact]
    public void The_kind_is_plant_owned_event_driven_and_registers_beside_the_others()
    {
        var registry = new TelemetryKindRegistry([Kind]);

        Assert.True(registry.TryFind("tanker_log", OwnerKind.Plant, out var found));
        Assert.Equal(typeof(TankerLogRecord), found.RecordType);
        Assert.Null(found.Cadence.SilentAfter);
        Assert.False(registry.TryFind("tanker_log", OwnerKind.Pasture, out _));
    }
}

using System.Diagnostics;
using Grpc.Health.V1;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using Xunit.Abstractions;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// reliability.md's "disk full under a server", for real: PostgreSQL and InfluxDB of a server instance of their own
/// write to a size-capped tmpfs, which the test fills to the last page while gateways keep publishing, then frees.
/// </summary>
public sealed partial class DiskFullTests(ITestOutputHelper log)
{
    private const int Before = 5;
    private const int Singles = 20;
    private const int BatchReadings = 200;

    [Fact]
    public async Task Disk_full_under_PostgreSQL_and_InfluxDB_acknowledges_nothing_that_is_not_durable_alerts_and_stores_every_reading_once_after()
    {
        await using var servers = await TmpfsServers.StartAsync(sizeMegabytes: 256);
        await using var platform = await PlatformProcess.StartAsync(stores: servers.Stores);
        try
        {
            await RunScenarioAsync(servers, platform);
        }
        catch
        {
            log.WriteLine("--- platform\n" + platform.LogTail(80));
            log.WriteLine("--- postgresql.log\n" + servers.LogTail("pg"));
            log.WriteLine("--- influxd.log\n" + servers.LogTail("influx"));
            throw;
        }
    }

    private async Task RunScenarioAsync(TmpfsServers servers, PlatformProcess platform)
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(platform);
        var day = ThroughputProbe.ChinaDay(1);
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        string Single(int seq) => Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 12, 0).AddSeconds(seq), "TL-" + seq, 1_000 + seq);
        var health = new Health.HealthClient(platform.Channel);
        async Task<ServingStatus> StatusOf(string service) => (await health.CheckAsync(new HealthCheckRequest { Service = service })).Status;

        // While there is room: acknowledged, and every table and the InfluxDB shard the readings go to exist.
        await using var weighbridge = new ResendingGateway(platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        for (var seq = 1; seq <= Before; seq++)
        {
            await weighbridge.PublishUntilAcknowledgedAsync(topic, Single(seq));
        }

        await ThroughputProbe.WaitForCountsAsync(platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, Before);

        var fill = await servers.FillAsync(ThroughputProbe.At(day, 12, 0));
        log.WriteLine($"disk full: filler {fill.FillerBytes / (1024 * 1024)} MiB, InfluxDB WAL page topped up with {fill.WalTopUpPoints} points");
        var clock = Stopwatch.StartNew();

        // The weighbridge goes on publishing one reading at a time (the PUBACK of each before the next), as a device does.
        var acknowledged = 0;
        var singles = Task.Run(async () =>
        {
            for (var seq = Before + 1; seq <= Before + Singles; seq++)
            {
                await weighbridge.PublishUntilAcknowledgedAsync(topic, Single(seq));
                Interlocked.Increment(ref acknowledged);
            }
        });

        // InfluxDB cannot append to its WAL (HTTP 500, ENOSPC): the platform says so, component by component.
        var influx = await Eventually.WaitAsync(() => StatusOf("influxdb"), s => s == ServingStatus.NotServing, TimeSpan.FromSeconds(30));
        Assert.Equal(ServingStatus.NotServing, influx);
        log.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: influxdb NOT_SERVING");

        // A batch of new keys needs new PostgreSQL pages (the digests, the lots): PostgreSQL refuses them with 53100
        // ("could not extend file": disk full) and stays up; the platform waits it out as an outage.
        await using var batchGateway = new ResendingGateway(platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var batchPayloads = Enumerable.Range(1, BatchReadings)
            .Select(i => Payloads.Intake(fleet.Weighbridge, 1_000 + i, ThroughputProbe.At(day, 15, 0).AddSeconds(i), "TLB-" + i, 2_000 + i))
            .ToList();
        var batch = batchGateway.PublishUntilAcknowledgedAsync(Payloads.BatchTopic("plant", fleet.Plant), Payloads.Batch("plant_intake", batchPayloads));
        var refused = await Eventually.WaitAsync(
            () => Task.FromResult(DiskFullRefusal().IsMatch(platform.LogTail(int.MaxValue))), r => r, TimeSpan.FromSeconds(30));
        Assert.True(refused, "the platform's log shows no ingestion batch refused by PostgreSQL with 53100 (disk full)");
        log.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: PostgreSQL refused an ingestion batch with 53100 (disk full)");
        Assert.True(await servers.IsUpAsync("pg"), "PostgreSQL was expected to refuse writes and keep running");
        // It still answers "select 1", and the platform still says it refuses ingestion's writes: an alert of its own.
        var postgres = await Eventually.WaitAsync(() => StatusOf("postgres"), s => s == ServingStatus.NotServing, TimeSpan.FromSeconds(30));
        Assert.Equal(ServingStatus.NotServing, postgres);

        // No acknowledgement without durability (watched for 5 s): the batch PostgreSQL refuses gets no PUBACK, and a
        // single gets one only once its point is stored (tmpfs hands out whole pages, so InfluxDB may still squeeze in
        // a write now and then); the platform keeps serving reads.
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(5))
        {
            var ackedSingles = Volatile.Read(ref acknowledged);
            var stored = (await platform.Influx.CountAndSumAsync("plant_intake", "net_kg", $"\"plant\" = '{fleet.Plant}'")).Count;
            Assert.True(stored >= Before + ackedSingles, $"{ackedSingles} singles acknowledged, only {stored - Before} of their points stored");
            Assert.False(batch.IsCompleted, "the batch was answered while PostgreSQL refused its writes");
            Assert.Equal(ServingStatus.Serving, await StatusOf(""));
            // Readings in flight may already count (their grain state committed, their points or chain rows not yet):
            // the PUBACK waits for the rest. Never fewer than what was acknowledged, never more than what was sent.
            var held = await ThroughputProbe.GetAsync(platform, day, ScopeKind.Plant, fleet.Plant);
            Assert.InRange(held.IntakeCount, Before + ackedSingles, Before + Volatile.Read(ref acknowledged) + 1 + BatchReadings);
            await Task.Delay(250);
        }

        Assert.True(Volatile.Read(ref acknowledged) < Singles, "every single was acknowledged while the disk was full");
        log.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: {acknowledged} singles acknowledged in 5 s (each with its point); health postgres = {await StatusOf("postgres")}");

        // Space back. PostgreSQL takes writes again by itself. InfluxDB 1.6 does not: its WAL writer keeps the ENOSPC
        // of the failed append and answers every later write with it until influxd restarts (which truncates the torn
        // entry and keeps every point it acknowledged), so restarting it is the operator's part of the recovery; the
        // platform's NOT_SERVING says why. Then the held readings are written and acknowledged, and the rest follow.
        servers.Free();
        await servers.RestartOneAsync("influx");
        await Task.WhenAll(singles, batch).WaitAsync(TimeSpan.FromSeconds(90));
        log.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: all acknowledged ({weighbridge.Resends + batchGateway.Resends} resends after lost connections)");
        Assert.Equal(Singles, acknowledged);

        const int total = Before + Singles + BatchReadings;
        var expectedKg = Enumerable.Range(1, Before + Singles).Sum(seq => 1_000.0 + seq) + Enumerable.Range(1, BatchReadings).Sum(i => 2_000.0 + i);
        var reply = await ThroughputProbe.WaitForCountsAsync(platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, total);
        Assert.Equal(total, reply.IntakeCount);
        Assert.Equal(expectedKg / 1000, reply.ProcessedT, 6);
        var county = await ThroughputProbe.GetAsync(platform, day, ScopeKind.County, fleet.CountyA);
        Assert.Equal(total, county.IntakeCount);
        var points = await Eventually.WaitAsync(
            () => platform.Influx.CountAndSumAsync("plant_intake", "net_kg", $"\"plant\" = '{fleet.Plant}'"), p => p.Count >= total, TimeSpan.FromSeconds(30));
        Assert.Equal(((long)total, expectedKg), points);
        Assert.Empty(await QuarantineProbe.ReadAsync(platform, $"hohhot/v1/plant/{fleet.Plant}/"));
        // Read again once the points are in: a reading counted twice would have shown by now.
        Assert.Equal(total, (await ThroughputProbe.GetAsync(platform, day, ScopeKind.Plant, fleet.Plant)).IntakeCount);
        var recovered = await Eventually.WaitAsync(() => StatusOf("influxdb"), s => s == ServingStatus.Serving, TimeSpan.FromSeconds(30));
        Assert.Equal(ServingStatus.Serving, recovered);
    }

    /// <summary>The pipeline's "Batch of N readings failed" warning, followed by PostgreSQL's disk-full error.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"Batch of \d+ readings failed[^\n]*\n[^\n]*53100: could not extend file")]
    private static partial System.Text.RegularExpressions.Regex DiskFullRefusal();
}

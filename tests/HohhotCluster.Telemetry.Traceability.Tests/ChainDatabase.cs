using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.Traceability;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>
/// A fresh PostgreSQL database for one test class, migrated with the storage and traceability schemas, plus a
/// <c>quality_result</c> table shaped as the audits component (issue 5) creates it, so quality checks can be attached.
/// </summary>
public sealed class ChainDatabase : IAsyncLifetime
{
    private long _seq;

    public NpgsqlDataSource DataSource { get; private set; } = null!;
    public ChainStore Store { get; private set; } = null!;
    public ChainQueries Queries { get; private set; } = null!;
    public EpcisImporter Importer { get; private set; } = null!;
    public EpcisExporter Exporter { get; private set; } = null!;
    public Tanker.TankerLogStore TankerLogs { get; private set; } = null!;
    public IOptions<TraceabilityOptions> Options { get; } = Microsoft.Extensions.Options.Options.Create(new TraceabilityOptions());

    public async Task InitializeAsync()
    {
        DataSource = await TestServers.CreateMigratedDatabaseAsync("trace", typeof(ChainStore));
        await using (var command = DataSource.CreateCommand(
            """
            create table quality_result (
                lot_kind text not null, lot_id text not null, sample_id text not null, verdict text not null,
                rule_version text not null, items jsonb not null, sampled_at timestamptz not null, sample_kind text not null)
            """))
        {
            await command.ExecuteNonQueryAsync();
        }

        Store = new ChainStore(DataSource);
        TankerLogs = new Tanker.TankerLogStore(DataSource, Options);
        Queries = new ChainQueries(DataSource, Options);
        Importer = new EpcisImporter(DataSource, new EpcisSchemaValidator(Options), Options);
        Exporter = new EpcisExporter(Queries, TankerLogs, TimeProvider.System, Options);
    }

    public async Task DisposeAsync() => await DataSource.DisposeAsync();

    public ReadingKey NextKey(string device) => new(device, 1, Interlocked.Increment(ref _seq));

    public static DeviceContext Device(string owner, string ownerKind) =>
        new() { DeviceId = owner + "-GW", OwnerKind = ownerKind, OwnerId = owner, CountyId = "150121" };

    /// <summary>Sends a payload through a telemetry kind exactly as ingestion does: parse, check, apply.</summary>
    public async Task<ApplyOutcome> PublishAsync<TRecord>(TelemetryKind<TRecord> kind, DeviceContext device, DateTimeOffset time, string json, ReadingKey? key = null)
        where TRecord : class
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        var k = key ?? NextKey(device.DeviceId);
        Assert.True(kind.TryParse(document.RootElement, k, time, out var record, out var rejection), rejection.Detail);
        var accepted = new Accepted<TRecord>(k, time, device, "test", record);
        Assert.Null(await kind.CheckAsync(accepted, default));
        return (await kind.ApplyAsync([accepted], default))[0];
    }

    /// <summary>Sends a payload through a typed kind as ingestion does: parse, check, apply; a refusal is returned, not asserted.</summary>
    public async Task<(ApplyOutcome? Outcome, Rejection? Rejection)> TryPublishAsync<TRecord>(TelemetryKind<TRecord> kind, DeviceContext device, DateTimeOffset time, string json, ReadingKey? key = null)
        where TRecord : class
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        var k = key ?? NextKey(device.DeviceId);
        if (!kind.TryParse(document.RootElement, k, time, out var record, out var rejection))
        {
            return (null, rejection);
        }

        var accepted = new Accepted<TRecord>(k, time, device, "test", record);
        if (await kind.CheckAsync(accepted, default) is { } refused)
        {
            return (null, refused);
        }

        return ((await kind.ApplyAsync([accepted], default))[0], null);
    }

    public Task CollectAsync(string pasture, string lotId, double kg, DateTimeOffset time, string? tankerLoad = null) =>
        new TelemetryChainObserver(Store, Options).OnAcceptedAsync([new Accepted<BulkTankDraft>(
            NextKey(pasture + "-BT"), time, Device(pasture, "pasture"), "test",
            new BulkTankDraft("T1", BulkTankEventKind.Collection, null, 3.5, lotId, kg, tankerLoad))], default);

    public Task IntakeAsync(string plant, string tankerLoad, double kg, DateTimeOffset time, double temperature = 4.0) =>
        new TelemetryChainObserver(Store, Options).OnAcceptedAsync([new Accepted<PlantIntakeDraft>(
            NextKey(plant + "-WB"), time, Device(plant, "plant"), "test",
            new PlantIntakeDraft(tankerLoad, kg, temperature, "蒙A12345", null))], default);

    public async Task AddQualityResultAsync(string lotKind, string lotId, string sampleId, string verdict, string items, DateTimeOffset at, string sampleKind = "supervisory")
    {
        await using var command = DataSource.CreateCommand(
            "insert into quality_result values ($1, $2, $3, $4, 'GB19301-2010+A1', $5::jsonb, $6, $7)");
        command.Parameters.AddWithValue(lotKind);
        command.Parameters.AddWithValue(lotId);
        command.Parameters.AddWithValue(sampleId);
        command.Parameters.AddWithValue(verdict);
        command.Parameters.AddWithValue(items);
        command.Parameters.AddWithValue(at.ToUniversalTime());
        command.Parameters.AddWithValue(sampleKind);
        await command.ExecuteNonQueryAsync();
    }
}

using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>A fresh PostgreSQL database per test class (HOHHOT_PG_CONNECTION; missing: the test fails saying how to start the servers), migrated.</summary>
public sealed class AnimalDatabase : IAsyncLifetime
{
    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero));

    public async Task InitializeAsync() =>
        DataSource = await TestServers.CreateMigratedDatabaseAsync("animals", typeof(AnimalRegistryStore));

    public async Task DisposeAsync() => await DataSource.DisposeAsync();

    /// <summary>The animal_event kind over this database, with its health and breeding stores, as the host wires it.</summary>
    public AnimalEventKind NewEventKind(RegistryStore registry, AnimalRegistryStore animals) =>
        new(new PastureDirectory(registry, Clock), new AnimalCareApply(animals, new AnimalHealthStore(DataSource), new AnimalBreedingStore(DataSource)));

    /// <summary>An animal event applied as the pipeline would (the kind's parse and apply) from the pasture's <c>-FMS1</c> device; it must apply.</summary>
    public static async Task ApplyEventAsync(AnimalEventKind kind, string pasture, long seq, DateTimeOffset at, object body)
    {
        var key = new ReadingKey(pasture + "-FMS1", 1, seq);
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(body));
        Assert.True(kind.TryParse(json.RootElement, key, at, out var record, out var rejection), rejection.Detail);
        var accepted = new Accepted<AnimalEventRecord>(key, at, new DeviceContext { DeviceId = key.DeviceId, OwnerKind = "pasture", OwnerId = pasture, CountyId = "150121" }, "t", record);
        Assert.Equal([ApplyOutcome.Applied], await kind.ApplyAsync([accepted], default));
    }
}

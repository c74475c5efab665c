using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>
/// Feeds records straight to a kind as the pipeline would (parse, check, apply), from one device per owner
/// (<c>{owner}{deviceSuffix}</c>, boot 1, one sequence number after another); a record the kind refuses fails the test.
/// </summary>
internal sealed class HandlerFeed(string deviceSuffix)
{
    private int _seq;

    public async Task<ApplyOutcome> SendAsync<TRecord>(TelemetryKind<TRecord> handler, string owner, string county, DateTimeOffset at, object body, int? reuseSeq = null)
        where TRecord : class
    {
        var key = new ReadingKey(owner + deviceSuffix, 1, reuseSeq ?? ++_seq);
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(body));
        Assert.True(handler.TryParse(json.RootElement, key, at, out var record, out var rejection), rejection.Detail);
        var device = new DeviceContext { DeviceId = key.DeviceId, OwnerKind = OwnerKinds.Name(handler.Owner), OwnerId = owner, CountyId = county };
        var accepted = new Accepted<TRecord>(key, at, device, "t", record);
        Assert.Null(await handler.CheckAsync(accepted, CancellationToken.None));
        return (await handler.ApplyAsync([accepted], CancellationToken.None))[0];
    }
}

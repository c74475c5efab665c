using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>
/// Feeds records straight to a kind's handler as the pipeline would (parse, check, store), from one device per owner
/// (<c>{owner}{deviceSuffix}</c>, boot 1, one sequence number after another); a record the handler refuses fails the test.
/// </summary>
internal sealed class HandlerFeed(string deviceSuffix)
{
    private int _seq;

    public async Task<ApplyOutcome> SendAsync(IRecordKindHandler handler, string owner, string county, DateTimeOffset at, object body, int? reuseSeq = null)
    {
        var key = new ReadingKey(owner + deviceSuffix, 1, reuseSeq ?? ++_seq);
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(body));
        Assert.True(handler.TryParse(json.RootElement, key, at, out var record, out var rejection), rejection.Detail);
        var device = new DeviceContext { DeviceId = key.DeviceId, OwnerKind = OwnerKinds.Name(handler.Owner), OwnerId = owner, CountyId = county };
        var accepted = new AcceptedRecord(key, at, device, "t", record!);
        Assert.Null(await handler.CheckAsync(accepted, CancellationToken.None));
        return (await handler.StoreAsync([accepted], CancellationToken.None))[0];
    }
}

using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>
/// Feeds records straight to a typed kind as the pipeline would (parse, check, apply), from one device per owner
/// (<c>{owner}{deviceSuffix}</c>, boot 1, one sequence number after another).
/// </summary>
public sealed class KindFeed(string deviceSuffix)
{
    private int _seq;

    /// <summary>Sends a record the kind must accept; its refusal fails the test.</summary>
    public async Task<ApplyOutcome> SendAsync<TRecord>(TelemetryKind<TRecord> kind, string owner, string county, DateTimeOffset at, object body, int? reuseSeq = null)
        where TRecord : class
    {
        var (accepted, rejection) = await AcceptAsync(kind, owner, county, at, body, reuseSeq);
        Assert.True(accepted is not null, rejection?.Detail);
        return (await kind.ApplyAsync([accepted!], CancellationToken.None))[0];
    }

    /// <summary>What the kind answers before storing: its parse or check rejection, or null when it would apply the record.</summary>
    public async Task<Rejection?> RefusalAsync<TRecord>(TelemetryKind<TRecord> kind, string owner, string county, DateTimeOffset at, object body)
        where TRecord : class => (await AcceptAsync(kind, owner, county, at, body, null)).Rejection;

    public int LastSeq => _seq;

    private async Task<(Accepted<TRecord>? Accepted, Rejection? Rejection)> AcceptAsync<TRecord>(
        TelemetryKind<TRecord> kind, string owner, string county, DateTimeOffset at, object body, int? reuseSeq)
        where TRecord : class
    {
        var key = new ReadingKey(owner + deviceSuffix, 1, reuseSeq ?? ++_seq);
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(body));
        if (!kind.TryParse(json.RootElement, key, at, out var record, out var parseRejection))
        {
            return (null, parseRejection);
        }

        var device = new DeviceContext { DeviceId = key.DeviceId, OwnerKind = OwnerKinds.Name(kind.Owner), OwnerId = owner, CountyId = county };
        var accepted = new Accepted<TRecord>(key, at, device, "t", record);
        return await kind.CheckAsync(accepted, CancellationToken.None) is { } checkRejection ? (null, checkRejection) : (accepted, null);
    }
}

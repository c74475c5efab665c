using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Ingestion;

// The stores the stages write, each behind the one call a stage makes of it, so each stage is tested in memory; in
// the platform they are PostgreSQL and InfluxDB (the adapters below), and the integration tier runs those.

/// <summary>The device a reading's topic names, from the registry.</summary>
public interface IDeviceLookup
{
    ValueTask<DeviceContext?> FindDeviceAsync(string deviceId, CancellationToken cancellationToken);
}

/// <summary>Claims each key's body digest (see <see cref="ReadingDigestStore.ClaimAsync"/>).</summary>
public interface IDigestClaims
{
    Task<DigestClaimResult[]> ClaimAsync(IReadOnlyList<(ReadingKey Key, long Digest, DateTimeOffset EventTime)> readings, CancellationToken cancellationToken);
}

/// <summary>Adds quarantine rows; true for each row added, false for one already held (see <see cref="QuarantineStore.AddAsync"/>).</summary>
public interface IQuarantineRows
{
    Task<bool[]> AddAsync(IReadOnlyList<QuarantinedMessage> rows, CancellationToken cancellationToken);
}

/// <summary>Writes line-protocol points; throws <see cref="PointRejectedException"/> when InfluxDB refuses them.</summary>
public interface IPointSink
{
    Task WriteAsync(ReadOnlyMemory<byte> lines, int pointCount, CancellationToken cancellationToken);
}

internal sealed class PostgresDigestClaims(ReadingDigestStore store) : IDigestClaims
{
    public Task<DigestClaimResult[]> ClaimAsync(IReadOnlyList<(ReadingKey Key, long Digest, DateTimeOffset EventTime)> readings, CancellationToken cancellationToken) =>
        store.ClaimAsync(readings, cancellationToken);
}

internal sealed class PostgresQuarantineRows(QuarantineStore store) : IQuarantineRows
{
    public Task<bool[]> AddAsync(IReadOnlyList<QuarantinedMessage> rows, CancellationToken cancellationToken) => store.AddAsync(rows, cancellationToken);
}

internal sealed class InfluxPointSink(InfluxLineWriter writer) : IPointSink
{
    public Task WriteAsync(ReadOnlyMemory<byte> lines, int pointCount, CancellationToken cancellationToken) => writer.WriteAsync(lines, pointCount, cancellationToken);
}

using System.Globalization;
using Grpc.Core;

namespace HohhotCluster.Telemetry.Api;

/// <summary>The optional fields of requests and the times of replies, read and written one way by every service.</summary>
internal static class RequestValues
{
    /// <summary>An empty string (proto3's "not given") as null.</summary>
    public static string? OrNull(string value) => value.Length == 0 ? null : value;

    /// <summary>An optional RFC 3339 time; INVALID_ARGUMENT naming the field when it is not one.</summary>
    public static DateTimeOffset? OptionalTime(string value, string field) =>
        value.Length == 0 ? null
        : DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time) ? time
        : throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field} must be RFC 3339."));

    /// <summary>A stored instant as UTC RFC 3339 with milliseconds.</summary>
    public static string UtcText(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A PostgreSQL timestamptz read as a DateTime (UTC) as UTC RFC 3339 with milliseconds.</summary>
    public static string UtcText(DateTime utc) => UtcText(new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)));
}

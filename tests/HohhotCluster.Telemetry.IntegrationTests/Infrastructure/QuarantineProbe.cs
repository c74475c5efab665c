using Dapper;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

public sealed record QuarantineRow(string Topic, string Reason, string Detail, string? DeviceId, byte[] Payload);

public static class QuarantineProbe
{
    public static async Task<List<QuarantineRow>> ReadAsync(PlatformProcess platform, string topicPrefix)
    {
        await using var connection = new NpgsqlConnection(platform.PostgresConnection);
        return (await connection.QueryAsync<QuarantineRow>(
            "select topic as Topic, reason as Reason, detail as Detail, device_id as DeviceId, payload as Payload from quarantine where starts_with(topic, @topicPrefix) order by id",
            new { topicPrefix })).AsList();
    }
}

using System.Globalization;
using System.Text.Json;
using HohhotCluster.Telemetry.Storage.Cluster;
using Npgsql;

namespace HohhotCluster.Telemetry.TimeSeries;

/// <summary>
/// The InfluxDB retention set-up once per cluster: <see cref="InfluxRetention"/>'s start runs alone under Storage's
/// <see cref="ClusterSetupLedger"/> (an advisory lock and the <c>cluster_setup</c> row <c>influx-retention:{database}</c>),
/// its durations recorded in whole hours.
/// </summary>
public sealed class PostgresRetentionSetupGate(ClusterSetupLedger ledger) : IRetentionSetupGate
{
    public static string SetupName(string database) => "influx-retention:" + database;

    public async Task<RetentionSetupRecord?> RunAloneAsync(
        string database, Func<RetentionSetupRecord?, CancellationToken, Task<RetentionSetupRecord?>> setup, CancellationToken cancellationToken)
    {
        try
        {
            var entry = await ledger.RunAloneAsync(SetupName(database), async (recorded, ct) =>
                await setup(recorded is null ? null : FromEntry(recorded), ct) is { } done ? (done.Revision, ToSettings(done)) : null,
                cancellationToken);
            return entry is null ? null : FromEntry(entry);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            // PostgreSQL away, the table not migrated yet, or another host's set-up held the lock too long: later.
            throw new RetentionSetupUnavailableException($"the retention set-up's record in PostgreSQL cannot be used now: {exception.Message}", exception);
        }
    }

    private static string ToSettings(RetentionSetupRecord r) => JsonSerializer.Serialize(new Dictionary<string, long>
    {
        ["rawHours"] = (long)r.Raw.TotalHours,
        ["hourlyHours"] = (long)r.Hourly.TotalHours,
        ["dailyHours"] = (long)r.Daily.TotalHours,
    });

    private static RetentionSetupRecord FromEntry(ClusterSetupEntry entry)
    {
        using var settings = JsonDocument.Parse(entry.Settings);
        TimeSpan Hours(string name) => TimeSpan.FromHours(settings.RootElement.GetProperty(name).GetInt64());
        return new RetentionSetupRecord(entry.Revision, Hours("rawHours"), Hours("hourlyHours"), Hours("dailyHours"),
            entry.AppliedBy + " at " + entry.AppliedAt.ToString("u", CultureInfo.InvariantCulture), entry.AppliedAt);
    }
}

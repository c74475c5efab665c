using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using Microsoft.Extensions.Logging;

namespace HohhotCluster.Telemetry.Ingestion.CoreKinds;

/// <summary>
/// Applies a core kind's records in one call per owning grain (each grain persists once per call), reports the
/// grains' totals to the rollups above them (one call per rollup), and returns each record's outcome in order.
/// </summary>
public sealed partial class GrainApply(IGrainFactory grains, ILogger<GrainApply> logger)
{
    public IGrainFactory Grains => grains;

    public async Task<ApplyOutcome[]> ApplyAsync<TRecord, TReading>(
        IReadOnlyList<Accepted<TRecord>> records,
        Func<Accepted<TRecord>, string> ownerOf,
        Func<Accepted<TRecord>, TReading> toReading,
        Func<string, TReading[], Task<ApplyResult>> apply)
        where TRecord : class
    {
        var groups = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var p = 0; p < records.Count; p++)
        {
            var owner = ownerOf(records[p]);
            if (!groups.TryGetValue(owner, out var positions))
            {
                positions = [];
                groups[owner] = positions;
            }

            positions.Add(p);
        }

        var calls = new List<(List<int> Positions, Task<ApplyResult> Call)>(groups.Count);
        foreach (var (owner, positions) in groups)
        {
            calls.Add((positions, apply(owner, [.. positions.Select(p => toReading(records[p]))])));
        }

        var results = await Task.WhenAll(calls.Select(c => c.Call));
        await ReportToRollupsAsync(results);
        var outcomes = new ApplyOutcome[records.Count];
        for (var c = 0; c < calls.Count; c++)
        {
            var positions = calls[c].Positions;
            for (var i = 0; i < positions.Count; i++)
            {
                outcomes[positions[i]] = results[c].Outcomes[i];
            }
        }

        return outcomes;
    }

    /// <summary>
    /// Reports the totals of every grain the call touched to the rollups above them, one call per rollup. A failed
    /// report is logged and not retried: the totals are stored, and a rollup rebuilds itself from storage when it is
    /// next activated.
    /// </summary>
    private async Task ReportToRollupsAsync(ApplyResult[] results)
    {
        var byRollup = new Dictionary<string, List<MemberReport>>(StringComparer.Ordinal);
        foreach (var result in results)
        {
            if (result.Report is not { } report)
            {
                continue;
            }

            foreach (var rollupKey in report.RollupKeys)
            {
                if (!byRollup.TryGetValue(rollupKey, out var list))
                {
                    list = [];
                    byRollup[rollupKey] = list;
                }

                list.Add(report);
            }
        }

        await Task.WhenAll(byRollup.Select(async rollup =>
        {
            try
            {
                await grains.GetGrain<IRollupGrain>(rollup.Key).ReportMembersAsync([.. rollup.Value]);
            }
            catch (Exception exception)
            {
                LogReportFailed(rollup.Key, rollup.Value.Count, exception);
            }
        }));
    }

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Could not report {Members} members to rollup {Rollup}; it will catch up from storage")]
    private partial void LogReportFailed(string rollup, int members, Exception exception);
}

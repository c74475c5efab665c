using HohhotCluster.Telemetry.Contracts;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Reports;

/// <summary>
/// The periods of a schedule and when each is due, in China Standard Time: daily, a day is due at <c>local_hour</c>
/// the day after; weekly, the seven days before each <c>weekday</c> are due that day at <c>local_hour</c>. The first
/// period is the first due after the schedule was made.
/// </summary>
public static class ReportSchedulePeriods
{
    public static int StepDays(ReportScheduleRow schedule) => schedule.Cadence == ReportCadences.Weekly ? 7 : 1;

    public static DateOnly To(ReportScheduleRow schedule, DateOnly from) => from.AddDays(StepDays(schedule) - 1);

    public static DateTimeOffset DueAt(ReportScheduleRow schedule, DateOnly from) =>
        ChinaTime.StartOfDay(To(schedule, from).AddDays(1)).AddHours(schedule.LocalHour);

    public static DateOnly First(ReportScheduleRow schedule)
    {
        var created = new DateTimeOffset(DateTime.SpecifyKind(schedule.CreatedAt, DateTimeKind.Utc));
        var day = ChinaTime.LocalDate(created);
        DateOnly from;
        if (schedule.Cadence == ReportCadences.Weekly)
        {
            // The first run day on or after the creation day with the schedule's ISO weekday; the period is the week before it.
            var iso = ((int)day.DayOfWeek + 6) % 7 + 1;
            var runDay = day.AddDays(((schedule.Weekday ?? 1) - iso + 7) % 7);
            from = runDay.AddDays(-7);
        }
        else
        {
            from = day.AddDays(-1);
        }

        return DueAt(schedule, from) < created ? from.AddDays(StepDays(schedule)) : from;
    }
}

/// <summary>
/// Runs every schedule's due periods: each pass looks at the schedules, claims each period due and not yet claimed
/// (in PostgreSQL, so a period runs once across restarts and hosts) from the one after the newest claimed, and runs
/// it; periods missed while no host ran are caught up in order, a bounded number per pass.
/// </summary>
public sealed partial class ReportScheduler(
    ReportStore store,
    ReportRunner runner,
    IOptions<ReportOptions> options,
    TimeProvider clock,
    ILogger<ReportScheduler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunDueAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException or IOException && !stoppingToken.IsCancellationRequested)
            {
                LogPassFailed(exception);
            }

            await Task.Delay(options.Value.PollInterval, clock, stoppingToken);
        }
    }

    /// <summary>One pass over the schedules; answers the runs it made.</summary>
    public async Task<IReadOnlyList<ReportRunRow>> RunDueAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var ran = new List<ReportRunRow>();
        var now = clock.GetUtcNow();
        foreach (var schedule in await store.ListSchedulesAsync(null, cancellationToken))
        {
            // From the newest period claimed (again: a claim left running by a host that stopped is taken over once
            // stale, a finished one is not claimed twice), or the first period of a schedule that never ran.
            var from = await store.LastScheduledPeriodAsync(schedule.Id, cancellationToken) ?? ReportSchedulePeriods.First(schedule);
            for (var n = 0; n < o.MaxCatchUpPerPass && ReportSchedulePeriods.DueAt(schedule, from) <= now; n++, from = from.AddDays(ReportSchedulePeriods.StepDays(schedule)))
            {
                var to = ReportSchedulePeriods.To(schedule, from);
                if (await store.ClaimScheduledAsync(schedule, from, to, now, now - o.StaleRunAfter, cancellationToken) is { } runId)
                {
                    ran.Add(await runner.RunAsync(runId, schedule, from, to, cancellationToken));
                }
            }
        }

        return ran;
    }

    [LoggerMessage(EventId = 5510, Level = LogLevel.Warning, Message = "Report schedules wait for PostgreSQL")]
    private partial void LogPassFailed(Exception exception);
}

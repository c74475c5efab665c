using System.Globalization;
using Grpc.Net.Client;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Cli;

/// <summary><c>hohhot reports schedule|schedules|unschedule|run|runs|download</c>: the ReportService, one call each.</summary>
internal static class ReportCommands
{
    public static async Task<int> RunAsync(GrpcChannel channel, string command, Dictionary<string, string?> options, TextWriter stdout)
    {
        var client = new ReportService.ReportServiceClient(channel);
        switch (command)
        {
            case "schedule":
                var request = new CreateReportScheduleRequest
                {
                    Kind = CliCommands.Required(options, "kind"),
                    Scope = ScopeOf(options),
                    Cadence = CliCommands.Required(options, "cadence") switch
                    {
                        "daily" => ReportCadence.Daily,
                        "weekly" => ReportCadence.Weekly,
                        var other => throw new ArgumentException($"--cadence must be daily or weekly, not '{other}'."),
                    },
                    LocalHour = Number(options.GetValueOrDefault("hour") ?? "6", "hour"),
                    Weekday = options.GetValueOrDefault("weekday") is { } weekday ? Number(weekday, "weekday") : 0,
                    WebhookUrl = options.GetValueOrDefault("webhook") ?? "",
                    WebhookSecret = options.GetValueOrDefault("secret-file") is { } secretFile ? (await File.ReadAllTextAsync(secretFile)).Trim() : "",
                };
                request.Formats.AddRange(List(options, "formats").Select(FormatOf));
                request.EmailTo.AddRange(List(options, "email"));
                return await CliCommands.PrintAsync(stdout, client.CreateReportScheduleAsync(request));
            case "schedules":
                return await CliCommands.PrintAsync(stdout, client.ListReportSchedulesAsync(new ListReportSchedulesRequest()));
            case "unschedule":
                return await CliCommands.PrintAsync(stdout, client.DeleteReportScheduleAsync(new DeleteReportScheduleRequest { Id = Id(options, "id") }));
            case "run":
                return await CliCommands.PrintAsync(stdout, client.RunReportAsync(new RunReportRequest
                {
                    ScheduleId = Id(options, "schedule"),
                    FromDate = CliCommands.Required(options, "from"),
                    ToDate = CliCommands.Required(options, "to"),
                }));
            case "runs":
                return await CliCommands.PrintAsync(stdout, client.ListReportRunsAsync(new ListReportRunsRequest
                {
                    ScheduleId = options.ContainsKey("schedule") ? Id(options, "schedule") : 0,
                    Limit = options.GetValueOrDefault("limit") is { } limit ? Number(limit, "limit") : 0,
                }));
            case "download":
                var file = await client.RenderReportAsync(new RenderReportRequest
                {
                    Kind = CliCommands.Required(options, "kind"),
                    Scope = ScopeOf(options),
                    FromDate = CliCommands.Required(options, "from"),
                    ToDate = CliCommands.Required(options, "to"),
                    Format = FormatOf(options.GetValueOrDefault("format") ?? "xlsx"),
                    Table = options.GetValueOrDefault("table") ?? "",
                });
                var path = options.GetValueOrDefault("out") ?? file.FileName;
                await File.WriteAllBytesAsync(path, file.Content.ToByteArray());
                stdout.WriteLine($"wrote {path}: {file.Rows.ToString(CultureInfo.InvariantCulture)} rows, sha256 {file.Sha256}");
                return 0;
            default:
                throw new ArgumentException($"unknown reports command '{command}' (schedule, schedules, unschedule, run, runs, download).");
        }
    }

    private static ReportScope ScopeOf(Dictionary<string, string?> options) =>
        new() { Kind = options.GetValueOrDefault("scope") ?? "", Id = options.GetValueOrDefault("id") ?? "" };

    private static ReportFormat FormatOf(string text) => text switch
    {
        "xlsx" => ReportFormat.Xlsx,
        "csv" => ReportFormat.Csv,
        _ => throw new ArgumentException($"a format is xlsx or csv, not '{text}'."),
    };

    private static IEnumerable<string> List(Dictionary<string, string?> options, string name) =>
        (options.GetValueOrDefault(name) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static int Number(string text, string name) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : throw new ArgumentException($"--{name} must be a number.");

    private static long Id(Dictionary<string, string?> options, string name) =>
        long.TryParse(CliCommands.Required(options, name), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : throw new ArgumentException($"--{name} must be a number.");
}

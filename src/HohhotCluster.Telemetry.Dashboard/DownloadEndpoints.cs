using System.Text;
using Grpc.Core;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.Protos.V1;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Dashboard;

/// <summary>
/// File downloads as the signed-in user: the EPCIS export of a lot and the audits' CSV, each the API's own document
/// passed through unchanged.
/// </summary>
public static class DownloadEndpoints
{
    public static void MapDownloadEndpoints(this WebApplication app)
    {
        app.MapGet("/download/epcis", async (HttpContext http, [FromQuery] string? kind, [FromQuery] string? id, IOptions<DashboardOptions> options) =>
        {
            if (string.IsNullOrWhiteSpace(id) || !Enum.TryParse<LotKind>(kind, ignoreCase: true, out var lotKind) || lotKind == LotKind.Unspecified)
            {
                return Results.BadRequest("kind (BulkTank, TankerLoad, Receipt, SiloBatch or Product) and id are required.");
            }

            return await AsUserAsync(http, options.Value, async channel =>
            {
                var reply = await new TraceabilityService.TraceabilityServiceClient(channel).ExportEpcisAsync(
                    new ExportEpcisRequest { Lot = new LotRef { Kind = lotKind, Id = id.Trim() } }, cancellationToken: http.RequestAborted);
                return Results.File(Encoding.UTF8.GetBytes(reply.DocumentJson), "application/ld+json", $"epcis-{lotKind}-{SafeName(id)}.jsonld");
            });
        }).RequireAuthorization();

        app.MapGet("/download/audits.csv", async (HttpContext http, [FromQuery] string? scope, [FromQuery] string? id, [FromQuery] string? from,
            [FromQuery] string? to, [FromQuery] string? sampleKind, [FromQuery] string? item, IOptions<DashboardOptions> options) =>
        {
            var query = AuditQueries.From(scope, id, from, to, sampleKind, item);
            return await AsUserAsync(http, options.Value, async channel =>
            {
                var reply = await new AuditService.AuditServiceClient(channel).ExportCsvAsync(query, cancellationToken: http.RequestAborted);
                return Results.File(reply.Content.ToByteArray(), reply.ContentType.Length > 0 ? reply.ContentType : "text/csv; charset=utf-8", reply.FileName.Length > 0 ? reply.FileName : "audits.csv");
            });
        }).RequireAuthorization();

        // The audits as an XLSX workbook (a sheet per table), rendered by the platform's ReportService; the window
        // defaults to the audits page's (the 30 days to today, China Standard Time).
        app.MapGet("/download/audits.xlsx", async (HttpContext http, [FromQuery] string? scope, [FromQuery] string? id, [FromQuery] string? from,
            [FromQuery] string? to, IOptions<DashboardOptions> options) =>
        {
            var today = DateOnly.FromDateTime(DateTime.UtcNow.AddHours(8));
            var toDate = string.IsNullOrWhiteSpace(to) ? today.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) : to.Trim();
            var fromDate = string.IsNullOrWhiteSpace(from)
                ? (DateOnly.TryParse(toDate, System.Globalization.CultureInfo.InvariantCulture, out var end) ? end : today).AddDays(-29).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)
                : from.Trim();
            var request = new RenderReportRequest
            {
                Kind = "audit",
                Scope = new ReportScope { Kind = scope is "county" or "pasture" or "plant" ? scope : "city", Id = (id ?? "").Trim() },
                FromDate = fromDate,
                ToDate = toDate,
                Format = ReportFormat.Xlsx,
            };
            return await AsUserAsync(http, options.Value, async channel =>
            {
                var file = await new ReportService.ReportServiceClient(channel).RenderReportAsync(request, cancellationToken: http.RequestAborted);
                return Results.File(file.Content.ToByteArray(), file.ContentType, file.FileName);
            });
        }).RequireAuthorization();
    }

    /// <summary>Runs a call with the user's token; the API's refusal comes back as its status and message, an expired token as a new login.</summary>
    public static async Task<IResult> AsUserAsync(HttpContext http, DashboardOptions options, Func<Grpc.Net.Client.GrpcChannel, Task<IResult>> call)
    {
        var token = http.User.Token();
        if (string.IsNullOrEmpty(token))
        {
            return Results.LocalRedirect("/account/expired");
        }

        using var connection = new PlatformConnection(options.ApiUrl, new PlatformCredential.Token(token), options.ApiCaFile);
        try
        {
            return await call(connection.Channel);
        }
        catch (RpcException refused) when (refused.StatusCode == StatusCode.Unauthenticated)
        {
            return Results.LocalRedirect("/account/expired?returnUrl=" + Uri.EscapeDataString(http.Request.Path + http.Request.QueryString));
        }
        catch (RpcException refused)
        {
            var status = refused.StatusCode switch
            {
                StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
                StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
                StatusCode.NotFound => StatusCodes.Status404NotFound,
                StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status502BadGateway,
            };
            return Results.Text($"{refused.StatusCode}: {refused.Status.Detail}", "text/plain; charset=utf-8", Encoding.UTF8, status);
        }
    }

    private static string SafeName(string id) => new(id.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').Take(80).ToArray());
}

/// <summary>The audits page's query string as the API's <see cref="AuditQuery"/>.</summary>
public static class AuditQueries
{
    public static AuditQuery From(string? scope, string? id, string? from, string? to, string? sampleKind, string? item)
    {
        var kind = scope switch
        {
            "county" => AuditScopeKind.County,
            "pasture" => AuditScopeKind.Pasture,
            "plant" => AuditScopeKind.Plant,
            "tanker" => AuditScopeKind.Tanker,
            _ => AuditScopeKind.City,
        };
        return new AuditQuery
        {
            Scope = new AuditScope { Kind = kind, Id = (id ?? "").Trim() },
            FromDate = (from ?? "").Trim(),
            ToDate = (to ?? "").Trim(),
            SampleKind = (sampleKind ?? "").Trim(),
            Item = (item ?? "").Trim(),
        };
    }
}

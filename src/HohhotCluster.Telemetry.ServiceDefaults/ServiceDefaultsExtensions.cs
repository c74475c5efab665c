using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace HohhotCluster.Telemetry.ServiceDefaults;

/// <summary>The defaults every host of the platform adds (<c>AddServiceDefaults</c>) and maps (<c>MapServiceDefaults</c>).</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>
    /// The meters exported: every component's (each names its meter <c>HohhotCluster.Telemetry.{Component}</c>), Orleans',
    /// Npgsql's, ASP.NET Core's and Kestrel's (requests, connections), and the runtime's.
    /// </summary>
    public static readonly string[] MeterNames =
    [
        "HohhotCluster.Telemetry.*",
        "Microsoft.Orleans",
        "Npgsql",
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "System.Runtime",
    ];

    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, string serviceName)
    {
        var configuration = builder.Configuration;
        builder.Services.AddOptions<OperationsOptions>()
            .Bind(configuration.GetSection(OperationsOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        var options = configuration.GetSection(OperationsOptions.Section).Get<OperationsOptions>() ?? new OperationsOptions();
        var problems = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), problems, validateAllProperties: true))
        {
            // Before anything listens: a scrape endpoint off loopback is refused at start, not after Kestrel bound it.
            throw new InvalidOperationException(string.Join(" ", problems.Select(p => p.ErrorMessage)));
        }

        builder.Services.AddSingleton<OperationsMetrics>();
        builder.Services.AddSingleton<IHealthCheckPublisher>(services => services.GetRequiredService<OperationsMetrics>());
        builder.Services.Configure<HealthCheckPublisherOptions>(publisher =>
        {
            publisher.Delay = TimeSpan.FromSeconds(1);
            publisher.Period = options.HealthPublishPeriod;
        });

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(MeterNames);
                // Latencies from a millisecond to a minute: a PUBACK waits for both stores, and an outage is waited out.
                metrics.AddView(instrument => instrument.Unit == "s" && instrument.Meter.Name.StartsWith("HohhotCluster.Telemetry.", StringComparison.Ordinal)
                    ? new ExplicitBucketHistogramConfiguration { Boundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] }
                    : null);
                if (options.MetricsAddress is not null)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        // Traces only where someone collects them: the OTLP exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and its siblings).
        if (!string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation()
                .AddSource("Npgsql", "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
                .AddOtlpExporter());
        }

        if (options.MetricsAddress is { } address)
        {
            builder.WebHost.ConfigureKestrel(kestrel =>
                kestrel.Listen(IPAddress.Parse(address.Host), address.Port, listen => listen.Protocols = HttpProtocols.Http1));
        }

        if (options.HealthAddress is { } health)
        {
            builder.WebHost.ConfigureKestrel(kestrel =>
                kestrel.Listen(IPAddress.Parse(health.Host), health.Port, listen => listen.Protocols = HttpProtocols.Http1));
        }

        return builder;
    }

    /// <summary>
    /// Serves <c>/metrics</c> and <c>/health</c> (every check's status and why, as JSON) on the scrape endpoint's
    /// loopback port only, never on the API's.
    /// </summary>
    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        var operations = app.Services.GetRequiredService<IOptions<OperationsOptions>>().Value;
        if (operations.HealthAddress is { } health)
        {
            // First in the pipeline and terminal: a request on the health listener's port reaches nothing but this (no
            // API, no token endpoint, no metrics), whatever its path.
            var port = health.Port;
            app.MapWhen(context => context.Connection.LocalPort == port, branch => branch.Run(AnswerBalancerAsync));
        }

        if (operations.MetricsAddress is { } address)
        {
            var port = address.Port;
            app.UseOpenTelemetryPrometheusScrapingEndpoint(context =>
                context.Connection.LocalPort == port && context.Request.Path == "/metrics");
            app.UseWhen(
                context => context.Connection.LocalPort == port && context.Request.Path == "/health",
                branch => branch.UseHealthChecks("/health", new HealthCheckOptions
                {
                    ResponseWriter = WriteHealthAsync,
                    ResultStatusCodes = { [HealthStatus.Degraded] = 200, [HealthStatus.Unhealthy] = 503 },
                }));
        }

        return app;
    }

    /// <summary>
    /// The balancer's check: <c>GET</c> (or <c>HEAD</c>) <c>/health</c> runs every health check and answers 200 when the
    /// host serves (healthy or degraded, as the operator's page counts them) and 503 when it does not (a store it cannot
    /// write, or draining on SIGTERM); the body says only which. Any other path is 404, any other method 405.
    /// </summary>
    private static async Task AnswerBalancerAsync(Microsoft.AspNetCore.Http.HttpContext context)
    {
        var response = context.Response;
        response.ContentType = "text/plain; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        if (context.Request.Path != "/health")
        {
            response.StatusCode = Microsoft.AspNetCore.Http.StatusCodes.Status404NotFound;
            await response.WriteAsync("not found: this listener answers GET /health only\n", context.RequestAborted);
            return;
        }

        if (!Microsoft.AspNetCore.Http.HttpMethods.IsGet(context.Request.Method) && !Microsoft.AspNetCore.Http.HttpMethods.IsHead(context.Request.Method))
        {
            response.StatusCode = Microsoft.AspNetCore.Http.StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }

        var report = await context.RequestServices.GetRequiredService<HealthCheckService>().CheckHealthAsync(context.RequestAborted);
        var serving = report.Status != HealthStatus.Unhealthy;
        response.StatusCode = serving ? Microsoft.AspNetCore.Http.StatusCodes.Status200OK : Microsoft.AspNetCore.Http.StatusCodes.Status503ServiceUnavailable;
        if (!Microsoft.AspNetCore.Http.HttpMethods.IsHead(context.Request.Method))
        {
            await response.WriteAsync(serving ? "serving\n" : "not serving\n", context.RequestAborted);
        }
    }

    private static Task WriteHealthAsync(Microsoft.AspNetCore.Http.HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var components = new Dictionary<string, HealthComponent>(StringComparer.Ordinal);
        foreach (var (name, entry) in report.Entries)
        {
            components[name] = new HealthComponent(entry.Status.ToString(), entry.Description, entry.Duration.TotalMilliseconds);
        }

        return System.Text.Json.JsonSerializer.SerializeAsync(context.Response.Body, new HealthPage(report.Status.ToString(), components),
            HealthPageJsonContext.Default.HealthPage, context.RequestAborted);
    }
}

/// <summary>The operator's health page (<c>/health</c> on the scrape endpoint): the platform's status and each component's.</summary>
public sealed record HealthPage(string Status, IReadOnlyDictionary<string, HealthComponent> Components);

public sealed record HealthComponent(string Status, string? Description, double DurationMs);

[System.Text.Json.Serialization.JsonSerializable(typeof(HealthPage))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
internal sealed partial class HealthPageJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

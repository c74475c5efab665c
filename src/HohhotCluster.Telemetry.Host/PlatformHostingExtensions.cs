using HohhotCluster.Telemetry.Api;
using HohhotCluster.Telemetry.Identity;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.MqttEndpoint;
using HohhotCluster.Telemetry.ServiceDefaults;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Orleans.Configuration;

namespace HohhotCluster.Telemetry.Host;

public static class PlatformHostingExtensions
{
    /// <summary>The components reported one by one by the gRPC health service.</summary>
    public static readonly string[] HealthComponents = ["postgres", "influxdb", "mqtt"];

    /// <summary>
    /// Everything one platform process runs. Registration order is start order (and the reverse is stop order):
    /// the silo first, then the InfluxDB writer, then ingestion and the MQTT endpoint, so the endpoint drains and ingestion
    /// stops before what they depend on.
    /// </summary>
    public static WebApplicationBuilder AddTelemetryPlatform(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddOptions<PlatformHostOptions>()
            .Bind(configuration.GetSection(PlatformHostOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        var host = configuration.GetSection(PlatformHostOptions.Section).Get<PlatformHostOptions>() ?? new PlatformHostOptions();
        // Refuse a plaintext address off loopback before anything listens (ValidateOnStart runs only after Kestrel binds).
        var problems = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(host, new(host), problems, validateAllProperties: true))
        {
            throw new InvalidOperationException(string.Join(" ", problems.Select(p => p.ErrorMessage)));
        }

        var mqtt = configuration.GetSection(MqttEndpointOptions.Section).Get<MqttEndpointOptions>() ?? new MqttEndpointOptions();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(mqtt, new(mqtt), problems, validateAllProperties: true))
        {
            throw new InvalidOperationException(string.Join(" ", problems.Select(p => p.ErrorMessage)));
        }

        if (mqtt.Plaintext && !(host.AllowPlaintextOnLoopback && System.Net.IPAddress.IsLoopback(System.Net.IPAddress.Parse(mqtt.Address.Host))))
        {
            throw new InvalidOperationException(
                "Plaintext MQTT (mqtt://) is served only on a loopback address and only with Platform:AllowPlaintextOnLoopback=true; use mqtts:// with a certificate.");
        }

        var certificate = host.TlsCertificateFile.Length > 0
            ? System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(host.TlsCertificateFile, host.TlsKeyFile)
            : null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenMqtt(mqtt, certificate);
            var uri = host.Api;
            kestrel.Listen(System.Net.IPAddress.Parse(uri.Host), uri.Port, listen =>
            {
                if (host.Plaintext)
                {
                    // Without TLS there is no ALPN: HTTP/2 with prior knowledge, which gRPC clients and the token endpoint speak.
                    listen.Protocols = HttpProtocols.Http2;
                }
                else
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(certificate!);
                }
            });
        });

        builder.AddServiceDefaults("hohhot-platform");
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddTelemetryPostgres(configuration);
        builder.Services.AddTelemetryIdentity(configuration, allowPlaintext: host.Plaintext);
        var cluster = ClusterHosting.ReadClusterOptions(configuration);
        builder.UseOrleans(silo =>
        {
            // Cluster:Membership: localhost (one silo) or postgres (every host on the database is one cluster); ClusterHosting.cs.
            silo.ConfigureClustering(host, cluster);
            silo.Services.AddPostgresGrainStorage();
        });
        builder.Services.AddTelemetryInflux(configuration);
        // The retention policies are set up once per cluster, recorded in PostgreSQL (ClusterSetupLedger).
        builder.Services.AddSingleton<HohhotCluster.Telemetry.TimeSeries.IRetentionSetupGate, HohhotCluster.Telemetry.TimeSeries.PostgresRetentionSetupGate>();
        builder.Services.AddTelemetryIngestion(configuration);
        // After ingestion: the endpoint stops first, so what it has in flight is made durable and acknowledged.
        builder.Services.AddMqttEndpoint(configuration);
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(45));
        // Components beyond the spine register here (their services, migrations, telemetry kinds, observers):
        HohhotCluster.Telemetry.Traceability.TraceabilityServiceCollectionExtensions.AddTraceability(builder.Services, configuration);
        HohhotCluster.Telemetry.Audit.AuditServiceCollectionExtensions.AddTelemetryAudits(builder.Services, configuration);
        HohhotCluster.Telemetry.Reports.ReportServiceCollectionExtensions.AddTelemetryReports(builder.Services, configuration);
        builder.Services.AddSingleton<HohhotCluster.Telemetry.Reports.IReportScopeGuard, KnownScopesReportGuard>();
        HohhotCluster.Telemetry.Animals.AnimalsServiceCollectionExtensions.AddTelemetryAnimals(builder.Services);

        builder.Services.AddOptions<PlanTargetOptions>().Bind(configuration.GetSection(PlanTargetOptions.Section));
        builder.Services.AddSingleton<KnownScopes>();
        builder.Services.AddSingleton<ApiMetrics>();
        builder.Services.AddSingleton<CallGuardInterceptor>();
        builder.Services.AddGrpc(options =>
        {
            // Outermost first: the guard sees (and logs) the final status of every call.
            options.Interceptors.Add<CallGuardInterceptor>();
            options.Interceptors.Add<RpcExceptionInterceptor>();
            options.EnableDetailedErrors = false;
            options.MaxReceiveMessageSize = 16 * 1024 * 1024;
        }).AddJsonTranscoding();
        // REST: the google.api.http mappings of the protos, transcoded to the same gRPC methods (so the same interceptors,
        // the call guard first, decide every call); their OpenAPI document and Swagger UI at /swagger (anonymous: the
        // contract, never data). docs/api.md.
        builder.Services.AddGrpcSwagger();
        builder.Services.AddSwaggerGen(swagger => swagger.SwaggerDoc("v1", new Microsoft.OpenApi.Models.OpenApiInfo
        {
            Title = "Hohhot dairy telemetry REST API",
            Version = "v1",
            Description = "gRPC JSON transcoding of the platform's API. Every call needs authorization: Bearer <token> from POST /connect/token.",
        }));
        builder.Services.AddGrpcReflection();
        builder.Services.AddHealthChecks()
            .AddCheck<PostgresReachableHealthCheck>("postgres-reachable")
            .AddCheck<PostgresHealthCheck>("postgres")
            .AddCheck<InfluxHealthCheck>("influxdb")
            .AddCheck<MqttHealthCheck>("mqtt");
        // gRPC health: "" is the platform (it answers while PostgreSQL does); each component has its own service
        // ("postgres" also NOT_SERVING while PostgreSQL refuses ingestion's writes, e.g. its disk full)
        // name, so "degraded" reads as the platform SERVING with a component NOT_SERVING (e.g. InfluxDB away:
        // ingestion holds messages unacknowledged and writes the points when it is back).
        builder.Services.AddGrpcHealthChecks(options =>
        {
            options.Services.Clear();
            options.Services.Map("", result => result.Name == "postgres-reachable");
            foreach (var component in HealthComponents)
            {
                options.Services.Map(component, result => result.Name == component);
            }
        });
        if (cluster.Membership == ClusteringMode.Postgres)
        {
            // Last: every component's hosted services are registered by now.
            builder.Services.RunSingleHostWorkOnOneHost(configuration);
            builder.Services.AddSingleton(cluster);
            builder.Services.AddHealthChecks().AddCheck<DrainingHealthCheck>("draining");
            builder.Services.AddHostedService<DrainDelay>();
        }

        return builder;
    }

    public static WebApplication MapTelemetryPlatform(this WebApplication app)
    {
        // Authentication runs OpenIddict's token endpoint (/connect/token) and reads bearer tokens; the gRPC call guard
        // decides what each caller may do.
        app.MapServiceDefaults();
        app.UseAuthentication();
        app.MapGrpcService<ThroughputGrpcService>();
        app.MapGrpcService<IdentityGrpcService>();
        app.MapGrpcService<RegistryGrpcService>();
        app.MapGrpcService<HohhotCluster.Telemetry.Api.TraceabilityGrpcService>();
        app.MapGrpcService<AuditGrpcService>();
        app.MapGrpcService<KpiGrpcService>();
        app.MapGrpcService<FeedingGrpcService>();
        app.MapGrpcService<AlertGrpcService>();
        app.MapGrpcService<ReportGrpcService>();
        app.MapGrpcService<SeriesGrpcService>();
        app.UseSwagger();
        app.UseSwaggerUI(ui => ui.SwaggerEndpoint("/swagger/v1/swagger.json", "Hohhot telemetry v1"));
        app.MapGrpcService<AnimalGrpcService>();
        app.MapGrpcService<AnimalHealthGrpcService>();
        app.MapGrpcService<AnimalMilkGrpcService>();
        app.MapGrpcHealthChecksService();
        if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PlatformHostOptions>>().Value.Reflection)
        {
            app.MapGrpcReflectionService();
        }

        return app;
    }
}

using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.Storage.Cluster;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Connections.Security;

namespace HohhotCluster.Telemetry.Host;

public enum ClusteringMode
{
    /// <summary>One silo on its own (<c>UseLocalhostClustering</c>): tests, the demo, a single machine.</summary>
    Localhost,

    /// <summary>Membership in PostgreSQL (<see cref="PostgresMembershipTable"/>): every host on one database is one cluster.</summary>
    Postgres,
}

/// <summary>
/// How this host joins the cluster (section <c>Cluster</c>; not <c>Orleans</c>, which Orleans reads itself for its
/// configuration-named providers). The cluster id, the silo and gateway ports stay in
/// <see cref="PlatformHostOptions"/> (<c>Platform:ClusterId</c>, <c>Platform:SiloPort</c>, <c>Platform:GatewayPort</c>).
/// </summary>
public sealed class OrleansClusterOptions : IValidatableObject
{
    public const string Section = "Cluster";

    public ClusteringMode Membership { get; set; } = ClusteringMode.Localhost;

    [Required]
    public string ServiceId { get; set; } = "hohhot-telemetry";

    /// <summary>The address the other silos reach this one at (postgres clustering); it is written to the membership table.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>The address the silo and gateway listen on (default: the advertised one); 0.0.0.0 behind NAT.</summary>
    public string ListenAddress { get; set; } = "";

    /// <summary>
    /// Silo-to-silo TLS (postgres clustering): the certificate (PEM) each silo presents both as server and as client,
    /// so it needs the serverAuth and clientAuth usages (deploy/cluster.sh makes one from deploy/certs.sh's CA).
    /// Empty: no TLS (only on a loopback advertised address).
    /// </summary>
    public string SiloCertificateFile { get; set; } = "";

    public string SiloKeyFile { get; set; } = "";

    /// <summary>The CA a peer silo's certificate must chain to (PEM): deploy/certs.sh's <c>ca.pem</c>.</summary>
    public string SiloCaFile { get; set; } = "";

    /// <summary>How long a silo may miss I-am-alive probes before the others vote it dead (Orleans' default is 10 s per probe, 3 missed).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>On SIGTERM, how long the host fails its health check before it stops taking work (postgres clustering): two of HAProxy's checks.</summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.FromSeconds(3);

    public bool SiloTls => SiloCertificateFile.Length > 0;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Membership != ClusteringMode.Postgres)
        {
            yield break;
        }

        if (!IPAddress.TryParse(AdvertisedAddress, out var advertised))
        {
            yield return new ValidationResult("Cluster:AdvertisedAddress must be an IP address the other hosts reach this one at.", [nameof(AdvertisedAddress)]);
            yield break;
        }

        if (ListenAddress.Length > 0 && !IPAddress.TryParse(ListenAddress, out _))
        {
            yield return new ValidationResult("Cluster:ListenAddress must be an IP address (or empty: the advertised one).", [nameof(ListenAddress)]);
        }

        if (SiloTls && (SiloKeyFile.Length == 0 || SiloCaFile.Length == 0))
        {
            yield return new ValidationResult("Cluster:SiloCertificateFile needs Cluster:SiloKeyFile and Cluster:SiloCaFile (PEM).", [nameof(SiloKeyFile)]);
        }

        if (!SiloTls && !IPAddress.IsLoopback(advertised))
        {
            yield return new ValidationResult(
                "Silo-to-silo traffic off loopback must be TLS: set Cluster:SiloCertificateFile, Cluster:SiloKeyFile and Cluster:SiloCaFile (deploy/cluster.sh makes them).",
                [nameof(SiloCertificateFile)]);
        }

        if (DrainDelay < TimeSpan.Zero || DrainDelay > TimeSpan.FromSeconds(30))
        {
            yield return new ValidationResult("Cluster:DrainDelay must be between 0 and 30 s (the shutdown waits it out).", [nameof(DrainDelay)]);
        }

        if (ProbeTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Cluster:ProbeTimeout must be positive.", [nameof(ProbeTimeout)]);
        }
    }
}

public static class ClusterHosting
{
    /// <summary>
    /// The background work that must run on one host of a cluster at a time, by type. Everything else a host runs in the
    /// background is its own: its ingestion pipeline, InfluxDB writer and MQTT endpoint, its access log's writes, its
    /// InfluxDB policies (idempotent, and what its own backfill waits for), its migrations (serialised by their own lock).
    /// </summary>
    public static readonly IReadOnlyDictionary<Type, string> SingleHostWorkTypes = new Dictionary<Type, string>
    {
        [typeof(StoreRetention)] = "store-retention",
        [typeof(ReadingDigestRetention)] = "reading-digest-retention",
        [typeof(HohhotCluster.Telemetry.Audit.Alerts.DeviceWatchdog)] = "device-watchdog",
        [typeof(HohhotCluster.Telemetry.Audit.Alerts.AlertNotifier)] = "alert-notifier",
    };

    public static OrleansClusterOptions ReadClusterOptions(IConfiguration configuration)
    {
        var options = configuration.GetSection(OrleansClusterOptions.Section).Get<OrleansClusterOptions>() ?? new OrleansClusterOptions();
        var problems = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new(options), problems, validateAllProperties: true))
        {
            throw new InvalidOperationException(string.Join(" ", problems.Select(p => p.ErrorMessage)));
        }

        return options;
    }

    /// <summary>Membership, endpoints and silo TLS of one host.</summary>
    public static void ConfigureClustering(this ISiloBuilder silo, PlatformHostOptions host, OrleansClusterOptions cluster)
    {
        if (cluster.Membership == ClusteringMode.Localhost)
        {
            silo.UseLocalhostClustering(host.SiloPort, host.GatewayPort);
        }
        else
        {
            var advertised = IPAddress.Parse(cluster.AdvertisedAddress);
            var listen = cluster.ListenAddress.Length > 0 ? IPAddress.Parse(cluster.ListenAddress) : advertised;
            silo.Configure<EndpointOptions>(endpoints =>
            {
                endpoints.AdvertisedIPAddress = advertised;
                endpoints.SiloPort = host.SiloPort;
                endpoints.GatewayPort = host.GatewayPort;
                endpoints.SiloListeningEndpoint = new IPEndPoint(listen, host.SiloPort);
                endpoints.GatewayListeningEndpoint = new IPEndPoint(listen, host.GatewayPort);
            });
            silo.Services.AddSingleton<IMembershipTable, PostgresMembershipTable>();
            silo.Configure<ClusterMembershipOptions>(membership =>
            {
                // A SIGKILLed host is voted dead within a few probes, so its grains move to the survivors in seconds.
                membership.ProbeTimeout = cluster.ProbeTimeout;
                membership.TableRefreshTimeout = TimeSpan.FromSeconds(2);
                membership.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
            });
            if (cluster.SiloTls)
            {
                silo.UseSiloTls(cluster);
            }
        }

        silo.Configure<ClusterOptions>(options =>
        {
            options.ClusterId = host.ClusterId;
            options.ServiceId = cluster.ServiceId;
        });
    }

    private static void UseSiloTls(this ISiloBuilder silo, OrleansClusterOptions cluster)
    {
        var certificate = X509Certificate2.CreateFromPemFile(cluster.SiloCertificateFile, cluster.SiloKeyFile);
        var ca = X509CertificateLoader.LoadCertificateFromFile(cluster.SiloCaFile);
        silo.UseTls(certificate, tls =>
        {
            // Both directions present a certificate; the peer's must chain to the platform's CA (no system roots).
            tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
            tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
            tls.RemoteCertificateValidation = (peer, _, _) => ChainsTo(peer, ca);
            tls.OnAuthenticateAsClient = (_, client) => client.TargetHost = cluster.AdvertisedAddress;
        });
    }

    /// <summary>Whether <paramref name="peer"/> was issued by <paramref name="ca"/> and is valid now.</summary>
    public static bool ChainsTo(X509Certificate2 peer, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(peer);
    }

    /// <summary>
    /// Wraps the hosted services of <see cref="SingleHostWorkTypes"/> in a <see cref="SingleHostWork"/> lease each, in
    /// place, so the start order stays as registered. Called last, once every component has registered its services.
    /// </summary>
    public static IServiceCollection RunSingleHostWorkOnOneHost(this IServiceCollection services, IConfiguration configuration)
    {
        var leaseOptions = configuration.GetSection(SingleHostWorkOptions.Section).Get<SingleHostWorkOptions>() ?? new SingleHostWorkOptions();
        for (var i = 0; i < services.Count; i++)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType != typeof(IHostedService) || descriptor.IsKeyedService)
            {
                continue;
            }

            Func<IServiceProvider, IHostedService> resolve = descriptor switch
            {
                { ImplementationInstance: IHostedService instance } => _ => instance,
                { ImplementationFactory: { } factory } => sp => (IHostedService)factory(sp),
                { ImplementationType: { } type } => sp => (IHostedService)ActivatorUtilities.CreateInstance(sp, type),
                _ => throw new InvalidOperationException("A hosted service registration without an implementation."),
            };
            if (descriptor.ImplementationType is { } known && !SingleHostWorkTypes.ContainsKey(known))
            {
                continue;
            }

            services[i] = ServiceDescriptor.Singleton<IHostedService>(sp =>
            {
                var work = resolve(sp);
                return SingleHostWorkTypes.TryGetValue(work.GetType(), out var name)
                    ? new SingleHostWork(name, work, sp.GetRequiredService<NpgsqlDataSource>(), leaseOptions,
                        sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SingleHostWork>>())
                    : work;
            });
        }

        return services;
    }
}

/// <summary>
/// A host of a cluster on SIGTERM: its health (the scrape endpoint's <c>/health</c>, which HAProxy checks) fails at once,
/// and the shutdown waits <see cref="OrleansClusterOptions.DrainDelay"/> before the MQTT endpoint and the API stop, so
/// the balancer has taken the host out before its connections close. Registered last: it stops first.
/// </summary>
public sealed class DrainingHealthCheck(IHostApplicationLifetime lifetime) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
{
    public Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
        Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("This host is stopping: it drains and takes no new connections.")
            : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());
}

/// <summary>Waits the drain delay on stop, before anything else stops (see <see cref="DrainingHealthCheck"/>).</summary>
public sealed class DrainDelay(OrleansClusterOptions options, TimeProvider clock) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.Delay(options.DrainDelay, clock, cancellationToken);
}

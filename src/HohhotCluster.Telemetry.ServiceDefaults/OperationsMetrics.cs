using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.ServiceDefaults;

/// <summary>
/// What Prometheus cannot ask the platform by itself: each health check's last result (<c>hohhot.health.status</c>,
/// 1 healthy, 0 not) and the free space under the stores' folders (<c>hohhot.disk.free_ratio</c>, <c>hohhot.disk.free_bytes</c>).
/// </summary>
public sealed class OperationsMetrics : IHealthCheckPublisher
{
    public const string MeterName = "HohhotCluster.Telemetry.Operations";

    private readonly ConcurrentDictionary<string, HealthStatus> _health = new(StringComparer.Ordinal);
    private readonly string[] _diskPaths;

    public OperationsMetrics(IMeterFactory meterFactory, IOptions<OperationsOptions> options)
    {
        _diskPaths = options.Value.DiskPaths;
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("hohhot.health.status", ObserveHealth, "1", "Each health check's last result: 1 healthy, 0 degraded or unhealthy");
        meter.CreateObservableGauge("hohhot.disk.free_ratio", () => ObserveDisk(ratio: true), "1", "Free space of the file system under each watched folder, as a fraction");
        meter.CreateObservableGauge("hohhot.disk.free_bytes", () => ObserveDisk(ratio: false), "By", "Free space of the file system under each watched folder");
    }

    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        foreach (var (name, entry) in report.Entries)
        {
            _health[name] = entry.Status;
        }

        return Task.CompletedTask;
    }

    /// <summary>The last published status of a check, or null before its first run.</summary>
    public HealthStatus? StatusOf(string check) => _health.TryGetValue(check, out var status) ? status : null;

    private IEnumerable<Measurement<int>> ObserveHealth()
    {
        foreach (var (name, status) in _health)
        {
            yield return new Measurement<int>(status == HealthStatus.Healthy ? 1 : 0, new KeyValuePair<string, object?>("component", name));
        }
    }

    private List<Measurement<double>> ObserveDisk(bool ratio)
    {
        var measurements = new List<Measurement<double>>(_diskPaths.Length);
        foreach (var path in _diskPaths)
        {
            try
            {
                // On Linux DriveInfo asks statvfs about the path, so any folder names its own file system.
                var drive = new DriveInfo(path);
                var free = (double)drive.AvailableFreeSpace;
                var value = ratio ? (drive.TotalSize > 0 ? free / drive.TotalSize : 0) : free;
                measurements.Add(new Measurement<double>(value, new KeyValuePair<string, object?>("path", path)));
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // A folder not there (yet) has no free space to tell; the alert on the others still works.
            }
        }

        return measurements;
    }
}

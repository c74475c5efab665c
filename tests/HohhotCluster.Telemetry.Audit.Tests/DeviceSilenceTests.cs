using HohhotCluster.Telemetry.Audit.Alerts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>The silent-device alert on a real PostgreSQL: device activity is buffered between writes, the watchdog still sees exact times.</summary>
public sealed class DeviceSilenceTests : IAsyncLifetime
{
    private readonly AuditDatabase _db = new();
    private AlertStore _alerts = null!;
    private DeviceActivityStore _activity = null!;
    private DeviceWatchdog _watchdog = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        var options = Options.Create(new AuditOptions { Alerts = new AlertOptions { DeviceSilentAfter = TimeSpan.FromMinutes(30), WatchdogInterval = TimeSpan.FromMinutes(1) } });
        _alerts = _db.Alerts();
        _activity = new DeviceActivityStore(_db.DataSource, _alerts, options, _db.Clock);
        _watchdog = new DeviceWatchdog(_db.DataSource, _activity, _alerts, options, _db.Clock, NullLogger<DeviceWatchdog>.Instance);
    }

    public Task DisposeAsync() => _db.DisposeAsync();

    private Task SeeAsync(string deviceId) =>
        _activity.TouchAsync([new DeviceSeen(deviceId, "pasture", "P1", "c1", _db.Clock.GetUtcNow())], CancellationToken.None);

    private async Task<bool> SilentAlertOpenAsync(string deviceId) =>
        (await _alerts.OpenKeysAsync(AlertKinds.DeviceSilent, CancellationToken.None)).Contains(AlertKinds.DeviceSilent + ":" + deviceId);

    [Fact]
    public async Task A_device_heard_from_only_in_memory_since_its_last_write_is_not_reported_silent()
    {
        await SeeAsync("D1");                      // first sighting: written at once
        _db.Clock.Advance(TimeSpan.FromSeconds(20));
        await SeeAsync("D1");                      // within the write interval: only noted in memory
        _db.Clock.Advance(TimeSpan.FromMinutes(30) - TimeSpan.FromSeconds(10));

        // The row still says t0 (30 min 10 s ago); the device was really heard 29 min 50 s ago.
        await _watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.False(await SilentAlertOpenAsync("D1"));
    }

    [Fact]
    public async Task A_silent_device_is_reported_and_cleared_at_once_when_it_sends_again()
    {
        await SeeAsync("D2");
        await SeeAsync("D3");
        _db.Clock.Advance(TimeSpan.FromMinutes(20));
        await SeeAsync("D3");                      // D3 keeps talking (written: its last write is older than a minute)
        _db.Clock.Advance(TimeSpan.FromMinutes(11));

        await _watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.True(await SilentAlertOpenAsync("D2"));
        Assert.False(await SilentAlertOpenAsync("D3"));

        _db.Clock.Advance(TimeSpan.FromSeconds(5));
        await SeeAsync("D2");                      // back: cleared by the sighting itself, not by the next watchdog round
        Assert.False(await SilentAlertOpenAsync("D2"));
    }
}

using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>The silent-device alert on a real PostgreSQL: device activity is buffered between writes, the watchdog still sees exact times.</summary>
public sealed class DeviceSilenceTests : IAsyncLifetime
{
    private readonly AuditDatabase _db = new();
    private AlertStore _alerts = null!;
    private DeviceActivityStore _activity = null!;
    private DeviceSequenceStore _sequences = null!;
    private DeviceWatchdog _watchdog = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        var options = Options.Create(new AuditOptions { Alerts = new AlertOptions { DeviceSilentAfter = TimeSpan.FromMinutes(30), WatchdogInterval = TimeSpan.FromMinutes(1) } });
        _alerts = _db.Alerts();
        _activity = new DeviceActivityStore(_db.DataSource, _alerts, options, _db.Clock);
        _sequences = new DeviceSequenceStore(_db.DataSource, _db.Clock);
        _watchdog = new DeviceWatchdog(_sequences, _activity, _alerts, options, _db.Clock, NullLogger<DeviceWatchdog>.Instance, PlatformKinds.Registry);
    }

    public Task DisposeAsync() => _db.DisposeAsync();

    private Task SeeAsync(string deviceId) =>
        _activity.TouchAsync([new DeviceSeen(deviceId, "pasture", "P1", "c1", _db.Clock.GetUtcNow())], CancellationToken.None);

    private long _seq;

    /// <summary>What the pipeline and the kind's observer do for one delivered reading of the kind.</summary>
    private async Task SendAsync(string deviceId, string kind)
    {
        await _sequences.RecordAsync([new DeliveredKey(new ReadingKey(deviceId, 1, ++_seq), kind)], CancellationToken.None);
        await SeeAsync(deviceId);
    }

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

    [Fact]
    public async Task A_manure_device_reporting_daily_is_not_silent_after_2_h_and_is_silent_after_its_cadence()
    {
        await SendAsync("MANURE1", "manure");
        _db.Clock.Advance(TimeSpan.FromHours(2));
        await _watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.False(await SilentAlertOpenAsync("MANURE1"));

        _db.Clock.Advance(TimeSpan.FromHours(33));   // 35 h: its next daily record is late, not yet missing
        await _watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.False(await SilentAlertOpenAsync("MANURE1"));

        _db.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        await _watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.True(await SilentAlertOpenAsync("MANURE1"));
    }

    [Fact]
    public async Task A_bulk_tank_is_silent_after_30_min_even_though_it_also_sends_an_event_driven_tanker_pickup()
    {
        await SendAsync("TANK1", "bulk_tank");
        await SendAsync("TANK1", "tanker_pickup");
        _db.Clock.Advance(TimeSpan.FromMinutes(29));
        await _watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.False(await SilentAlertOpenAsync("TANK1"));

        _db.Clock.Advance(TimeSpan.FromMinutes(2));
        await _watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.True(await SilentAlertOpenAsync("TANK1"));
    }

    [Fact]
    public async Task A_device_sending_only_event_driven_kinds_is_never_silent()
    {
        await SendAsync("PICKUP1", "tanker_pickup");
        _db.Clock.Advance(TimeSpan.FromDays(3));
        await _watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.False(await SilentAlertOpenAsync("PICKUP1"));
    }

    [Fact]
    public async Task A_kind_whose_component_does_not_touch_device_activity_still_keeps_its_device_from_silence()
    {
        await SendAsync("MM1", "milking");
        _db.Clock.Advance(TimeSpan.FromHours(13));
        // Delivered (e.g. quarantined, or a kind stored elsewhere), recorded in device_sequence only.
        await _sequences.RecordAsync([new DeliveredKey(new ReadingKey("MM1", 1, ++_seq), "milking")], CancellationToken.None);
        _db.Clock.Advance(TimeSpan.FromHours(2));   // 15 h after the last activity, 2 h after the last delivery
        await _watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.False(await SilentAlertOpenAsync("MM1"));
    }

    [Fact]
    public async Task A_silent_alert_clears_when_the_configured_cadence_no_longer_calls_the_device_silent()
    {
        await SendAsync("MANURE2", "manure");
        var strict = new AuditOptions { Alerts = new AlertOptions { SilentAfterByKind = new() { ["manure"] = TimeSpan.FromHours(1) } } };
        var watchdog = new DeviceWatchdog(_sequences, _activity, _alerts, Options.Create(strict), _db.Clock, NullLogger<DeviceWatchdog>.Instance, PlatformKinds.Registry);
        _db.Clock.Advance(TimeSpan.FromHours(2));
        await watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.True(await SilentAlertOpenAsync("MANURE2"));

        await _watchdog.CheckOnceAsync(CancellationToken.None);   // the default daily cadence
        Assert.False(await SilentAlertOpenAsync("MANURE2"));
    }

    [Fact]
    public async Task Any_kinds_accepted_keys_keep_its_device_from_silence_through_the_keys_observer()
    {
        await SeeAsync("TMR1");
        _db.Clock.Advance(TimeSpan.FromMinutes(25));
        var device = new DeviceContext { DeviceId = "TMR1", OwnerKind = "pasture", OwnerId = "P1", CountyId = "c1" };
        var kind = new CadenceOnlyKind("tmr", Kinds.OwnerKind.Pasture, Kinds.ReportingCadence.SilentAfterOf(TimeSpan.FromHours(10)));
        await new DeviceActivityKeysObserver(_activity).OnAcceptedAsync(
            [new Kinds.AcceptedKey(new ReadingKey("TMR1", 1, 1), _db.Clock.GetUtcNow(), device, kind, ApplyOutcome.Applied)], CancellationToken.None);
        _db.Clock.Advance(TimeSpan.FromMinutes(25));   // 50 min after the first sighting, 25 after the kind's

        await _watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.False(await SilentAlertOpenAsync("TMR1"));
    }
}

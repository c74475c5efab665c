using System.Globalization;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>A bulk-tank temperature as the cold-chain grain needs it.</summary>
[GenerateSerializer, Immutable, Alias("hohhot.audit.TankTemperature")]
public sealed record TankTemperature(
    [property: Id(0)] ReadingKey Key,
    [property: Id(1)] DateTimeOffset EventTime,
    [property: Id(2)] double TemperatureC,
    [property: Id(3)] string PastureId,
    [property: Id(4)] string TankId,
    [property: Id(5)] string CountyId);

/// <summary>One bulk tank's cold chain. Key: <c>{pastureId}/{tankId}</c>.</summary>
public interface IColdChainGrain : IGrainWithStringKey
{
    Task ObserveAsync(TankTemperature[] readings);
}

/// <summary>Mastitis suspicion for the cows of one herd, each against her own baseline. Key: herd id.</summary>
public interface IMastitisGrain : IGrainWithStringKey
{
    Task ObserveAsync(MilkingReading[] milkings);

    Task<Dictionary<string, double>> GetBaselinesAsync();
}

/// <summary>
/// Shared persistence rhythm of the alert grains: state is written at once when an alert changed, otherwise at most
/// every half minute and on deactivation. Losing the last seconds of a baseline to a crash is harmless; the alert
/// itself is already in PostgreSQL.
/// </summary>
public abstract class AlertGrain<TState>(IPersistentState<TState> state, TimeProvider clock) : Grain
    where TState : new()
{
    private static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(30);
    private DateTimeOffset _lastWrite;
    private bool _dirty;

    protected TState State => state.State;

    protected TimeProvider Clock => clock;

    protected async Task PersistAsync(bool alertChanged)
    {
        _dirty = true;
        if (alertChanged || clock.GetUtcNow() - _lastWrite > FlushEvery)
        {
            await state.WriteStateAsync();
            _lastWrite = clock.GetUtcNow();
            _dirty = false;
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            await state.WriteStateAsync();
        }
    }
}

public sealed class ColdChainGrain(
    [PersistentState("audit.cold_chain", StorageServiceCollectionExtensions.GrainStorageName)] IPersistentState<TankEpisode> state,
    AlertStore alerts,
    IOptions<AuditOptions> options,
    TimeProvider clock)
    : AlertGrain<TankEpisode>(state, clock), IColdChainGrain
{
    public async Task ObserveAsync(TankTemperature[] readings)
    {
        Array.Sort(readings, static (a, b) => a.EventTime.CompareTo(b.EventTime));
        var changed = false;
        foreach (var r in readings)
        {
            var key = AlertKinds.BulkTankTemperature + ":" + r.PastureId + "/" + r.TankId;
            var limits = options.Value.Alerts;
            switch (ColdChainRule.Observe(State, r.EventTime, r.TemperatureC, r.Key.ToString(), limits))
            {
                case AlertTransition.Raised:
                    changed = true;
                    await alerts.RaiseAsync(new AlertDraft
                    {
                        Key = key,
                        Kind = AlertKinds.BulkTankTemperature,
                        Severity = "critical",
                        Subject = $"tank:{r.PastureId}/{r.TankId}",
                        PastureId = r.PastureId,
                        CountyId = r.CountyId,
                        Message = $"Bulk tank {r.TankId} on pasture {r.PastureId} has held milk above {limits.BulkTankMaxC.ToString(CultureInfo.InvariantCulture)} °C " +
                            $"for more than {limits.BulkTankMaxDuration.TotalHours.ToString(CultureInfo.InvariantCulture)} h (now {r.TemperatureC.ToString(CultureInfo.InvariantCulture)} °C)",
                        Since = State.AboveSince!.Value,
                        Readings = [.. State.Readings],
                    }, Clock.GetUtcNow(), CancellationToken.None);
                    break;
                case AlertTransition.Cleared:
                    changed = true;
                    await alerts.ClearAsync([key], $"back to {r.TemperatureC.ToString(CultureInfo.InvariantCulture)} °C at {r.EventTime:O} ({r.Key})", Clock.GetUtcNow(), CancellationToken.None);
                    break;
            }
        }

        await PersistAsync(changed);
    }
}

public sealed class MastitisState
{
    public Dictionary<string, CowBaseline> Cows { get; set; } = new(StringComparer.Ordinal);
}

public sealed class MastitisGrain(
    [PersistentState("audit.mastitis", StorageServiceCollectionExtensions.GrainStorageName)] IPersistentState<MastitisState> state,
    AlertStore alerts,
    IOptions<AuditOptions> options,
    TimeProvider clock)
    : AlertGrain<MastitisState>(state, clock), IMastitisGrain
{
    public async Task ObserveAsync(MilkingReading[] milkings)
    {
        Array.Sort(milkings, static (a, b) => a.EventTime.CompareTo(b.EventTime));
        var changed = false;
        foreach (var m in milkings)
        {
            if (m.ConductivityMsPerCm is not { } conductivity)
            {
                continue;
            }

            if (!State.Cows.TryGetValue(m.AnimalId, out var cow))
            {
                cow = new CowBaseline();
                State.Cows[m.AnimalId] = cow;
            }

            var key = AlertKinds.MastitisSuspicion + ":" + m.AnimalId;
            var limits = options.Value.Alerts;
            switch (MastitisRule.Observe(cow, m.EventTime, conductivity, m.Key.ToString(), limits))
            {
                case AlertTransition.Raised:
                    changed = true;
                    await alerts.RaiseAsync(new AlertDraft
                    {
                        Key = key,
                        Kind = AlertKinds.MastitisSuspicion,
                        Severity = "warning",
                        Subject = "animal:" + m.AnimalId,
                        PastureId = m.PastureId,
                        CountyId = m.CountyId,
                        Message = $"Cow {m.AnimalId} (herd {m.HerdId}): conductivity {conductivity.ToString(CultureInfo.InvariantCulture)} mS/cm, " +
                            $"{limits.MastitisConsecutiveMilkings} milkings at or above {(limits.MastitisRiseFraction * 100).ToString(CultureInfo.InvariantCulture)} % over her baseline " +
                            $"{cow.Mean.ToString("F2", CultureInfo.InvariantCulture)} mS/cm",
                        Since = cow.SuspectSince ?? m.EventTime,
                        Readings = [.. cow.Recent],
                    }, Clock.GetUtcNow(), CancellationToken.None);
                    break;
                case AlertTransition.Cleared:
                    changed = true;
                    await alerts.ClearAsync([key], $"conductivity back to {conductivity.ToString(CultureInfo.InvariantCulture)} mS/cm at {m.EventTime:O} ({m.Key})", Clock.GetUtcNow(), CancellationToken.None);
                    break;
            }
        }

        await PersistAsync(changed);
    }

    public Task<Dictionary<string, double>> GetBaselinesAsync() =>
        Task.FromResult(State.Cows.ToDictionary(c => c.Key, c => c.Value.Mean, StringComparer.Ordinal));
}

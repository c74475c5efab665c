using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Animals;

/// <summary>
/// Where each <c>animal_event</c> of a batch is stored: registry events by <see cref="AnimalRegistryStore"/>,
/// vaccinations and antibody tests by <see cref="AnimalHealthStore"/>, reproduction events by
/// <see cref="AnimalBreedingStore"/>, and each calving the registry applied also as the breeding store's calving row
/// (its progeny's sexes). Health and breeding events change no registry state; before they are stored they are judged
/// again against the animals' current state (another worker's batch may have moved or ended an animal since the gate):
/// if one no longer follows, <see cref="AnimalStateChangedException"/> makes the pipeline retry the batch, and the gate
/// then refuses it with its reason. A key already in the health or breeding table is a duplicate, whatever the
/// animal's state now, so a redelivery is answered as the first delivery was.
/// </summary>
public sealed class AnimalCareApply(AnimalRegistryStore registry, AnimalHealthStore health, AnimalBreedingStore breeding)
{
    public async Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<AnimalEventMessage> messages, CancellationToken cancellationToken)
    {
        var outcomes = new ApplyOutcome[messages.Count];
        var registryIndexes = new List<int>();
        var careIndexes = new List<int>();
        for (var i = 0; i < messages.Count; i++)
        {
            (AnimalCareNames.IsCareEvent(messages[i].Record.Event) ? careIndexes : registryIndexes).Add(i);
        }

        if (registryIndexes.Count > 0)
        {
            var applied = await registry.ApplyEventsAsync(registryIndexes.ConvertAll(i => messages[i]), cancellationToken);
            for (var j = 0; j < registryIndexes.Count; j++)
            {
                outcomes[registryIndexes[j]] = applied[j];
            }

            // A calving the registry holds (applied now, or before: a resend after a crash between the two mends it).
            var calvings = registryIndexes.Where(i => messages[i].Record.Event == AnimalEventType.Calving
                && outcomes[i] is ApplyOutcome.Applied or ApplyOutcome.Duplicate).Select(i => messages[i]).ToList();
            if (calvings.Count > 0)
            {
                var states = await registry.FindAsync(calvings.Select(m => m.Record.Animal.Value).ToHashSet(StringComparer.Ordinal), cancellationToken);
                await breeding.ApplyAsync(calvings, states, cancellationToken);
            }
        }

        if (careIndexes.Count == 0)
        {
            return outcomes;
        }

        var care = careIndexes.ConvertAll(i => messages[i]);
        var keys = care.ConvertAll(m => m.Key);
        var recorded = await health.RecordedKeysAsync(keys, cancellationToken);
        recorded.UnionWith(await breeding.RecordedKeysAsync(keys, cancellationToken));
        var animals = await registry.FindAsync(care.Select(m => m.Record.Animal.Value).ToHashSet(StringComparer.Ordinal), cancellationToken);
        var toHealth = new List<(int Index, AnimalEventMessage Message)>();
        var toBreeding = new List<(int Index, AnimalEventMessage Message)>();
        foreach (var i in careIndexes)
        {
            var m = messages[i];
            if (recorded.Contains(m.Key))
            {
                outcomes[i] = ApplyOutcome.Duplicate;
                continue;
            }

            if (!AnimalRules.TryApply(animals.GetValueOrDefault(m.Record.Animal.Value), m.Record, m.EventTime, m.Pasture, out _, out var rejection))
            {
                throw new AnimalStateChangedException(
                    $"animal event {m.Key} no longer follows the state of animal '{m.Record.Animal.Value}' ({rejection.Reason}: {rejection.Detail}); the batch is retried");
            }

            (AnimalCareNames.IsImmunisation(m.Record.Event) ? toHealth : toBreeding).Add((i, m));
        }

        foreach (var (store, list) in new (Func<IReadOnlyList<AnimalEventMessage>, Task<ApplyOutcome[]>> Store, List<(int Index, AnimalEventMessage Message)> List)[]
        {
            (batch => health.ApplyAsync(batch, animals, cancellationToken), toHealth),
            (batch => breeding.ApplyAsync(batch, animals, cancellationToken), toBreeding),
        })
        {
            if (list.Count == 0)
            {
                continue;
            }

            var stored = await store(list.ConvertAll(x => x.Message));
            for (var j = 0; j < list.Count; j++)
            {
                outcomes[list[j].Index] = stored[j];
            }
        }

        return outcomes;
    }

    /// <summary>The keys of these messages the health or breeding tables already hold (the gate lets them pass untouched).</summary>
    public async Task<HashSet<ReadingKey>> RecordedKeysAsync(IReadOnlyList<ReadingKey> keys, CancellationToken cancellationToken)
    {
        var recorded = await health.RecordedKeysAsync(keys, cancellationToken);
        recorded.UnionWith(await breeding.RecordedKeysAsync(keys, cancellationToken));
        return recorded;
    }
}

/// <summary>The KPIs' reads of the registry (<see cref="IAnimalRegistryFigures"/>), over the registry, health and breeding stores.</summary>
public sealed class AnimalRegistryFigures(AnimalRegistryStore registry, AnimalHealthStore health, AnimalBreedingStore breeding) : IAnimalRegistryFigures
{
    /// <summary>How many animals' immunity is read in one query.</summary>
    private const int TagsPerQuery = 50_000;

    public Task<IReadOnlySet<string>> PasturesWithAnimalsAsync(IReadOnlyCollection<string> pastureIds, DateTimeOffset at, CancellationToken cancellationToken) =>
        registry.PasturesWithAnimalsAsync(pastureIds, at, cancellationToken);

    public Task<IReadOnlyDictionary<string, RegisteredStock>> StockAsync(IReadOnlyCollection<string> pastureIds, DateTimeOffset at, int breedingAgeMonths,
        IReadOnlyCollection<string> herdBookGoatBreeds, CancellationToken cancellationToken) =>
        registry.StockAtAsync(pastureIds, at, ChinaTime.LocalDate(at.AddTicks(-1)).AddMonths(-breedingAgeMonths), herdBookGoatBreeds, cancellationToken);

    public Task<IReadOnlySet<string>> PasturesWithImmunisationRecordsAsync(IReadOnlyCollection<string> pastureIds, string programme, DateOnly day,
        CancellationToken cancellationToken) =>
        health.PasturesWithRecordsAsync(pastureIds, programme, day, cancellationToken);

    public async Task<IReadOnlyDictionary<string, RegisteredImmunity>> ImmunityAsync(IReadOnlyCollection<string> pastureIds, ImmunisationProgramme programme,
        DateOnly day, DateOnly testsFrom, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, (int InStock, int Immune, int ByVaccination, int ByTest, int Tested, int Protective)>(StringComparer.Ordinal);
        var after = "";
        while (true)
        {
            var alive = await registry.AliveAtAsync(pastureIds, ChinaTime.StartOfDay(day.AddDays(1)), after, TagsPerQuery, cancellationToken);
            if (alive.Count == 0)
            {
                break;
            }

            var immunity = await health.ImmunityAsync(alive.Select(a => a.EarTag).ToList(), programme.Id, day, testsFrom, cancellationToken);
            foreach (var animal in alive)
            {
                var c = counts.GetValueOrDefault(animal.PastureId);
                c.InStock++;
                if (immunity.TryGetValue(animal.EarTag, out var i))
                {
                    var (vaccinated, tested) = AnimalImmunityRule.Valid(i, programme, day);
                    c.Immune += vaccinated || tested ? 1 : 0;
                    c.ByVaccination += vaccinated ? 1 : 0;
                    c.ByTest += tested ? 1 : 0;
                    c.Tested += i.LastTest is null ? 0 : 1;
                    c.Protective += i.LastTest is not null && i.LastTestProtective == true ? 1 : 0;
                }

                counts[animal.PastureId] = c;
            }

            after = alive[^1].EarTag;
        }

        return counts.ToDictionary(kv => kv.Key, kv => new RegisteredImmunity(kv.Key, kv.Value.InStock, kv.Value.Immune, kv.Value.ByVaccination, kv.Value.ByTest,
            kv.Value.Tested, kv.Value.Protective), StringComparer.Ordinal);
    }

    public Task<RegisteredBreeding> BreedingAsync(IReadOnlyCollection<string> pastureIds, DateOnly from, DateOnly to, CancellationToken cancellationToken) =>
        breeding.FiguresAsync(pastureIds, from, to, cancellationToken);
}

/// <summary>Valid immunity, pure: a vaccination or a protective antibody test of the programme within the protection period ending on the day.</summary>
public static class AnimalImmunityRule
{
    public static (bool ByVaccination, bool ByAntibodyTest) Valid(AnimalImmunity immunity, ImmunisationProgramme programme, DateOnly day)
    {
        var start = programme.PeriodStart(day);
        return (immunity.LastVaccination is { } v && v >= start && v <= day, immunity.LastProtectiveTest is { } t && t >= start && t <= day);
    }
}

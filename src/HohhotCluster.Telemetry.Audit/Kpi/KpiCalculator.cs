using System.Globalization;
using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Audit.Quality;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Kpi;

/// <summary>Daily milk totals of a rollup key (<see cref="RollupKeys"/>): the rollup grains in the platform, a table in tests.</summary>
public interface IMilkTotalsSource
{
    Task<DailyTotals> GetDayAsync(string rollupKey, DateOnly localDate);

    Task<Dictionary<DateOnly, DailyTotals>> GetAllDaysAsync(string rollupKey);
}

public sealed class GrainMilkTotalsSource(IGrainFactory grains) : IMilkTotalsSource
{
    public Task<DailyTotals> GetDayAsync(string rollupKey, DateOnly localDate) => grains.GetGrain<IRollupGrain>(rollupKey).GetDayAsync(localDate);

    public Task<Dictionary<DateOnly, DailyTotals>> GetAllDaysAsync(string rollupKey) => grains.GetGrain<IRollupGrain>(rollupKey).GetAllDaysAsync();
}

public sealed record KpiInput(string Name, double Value, string Unit);

/// <summary>
/// Which pastures or plants in scope reported what a measure needs (in its day or window): how many, and the ids of
/// those that did not (the first <see cref="KpiCalculator.MaxListedIds"/>; <see cref="SilentCount"/> counts them all).
/// </summary>
public sealed record KpiCoverage(string Of, int InScope, int Reported, IReadOnlyList<string> Silent, int SilentCount);

/// <summary>One pasture judged against a definition (the smart demonstration pasture): qualified or not, and why.</summary>
public sealed record KpiSubject(string Id, bool Qualified, string Reason);

/// <summary>One target measured: actual against the 2021 and 2023 targets (null where the plan sets none), with its formula and inputs.</summary>
public sealed record KpiValue
{
    public required string Key { get; init; }
    public required string Description { get; init; }
    public required string Unit { get; init; }
    public string? Programme { get; init; }

    /// <summary>Null when the data cannot measure it (see <see cref="Note"/>).</summary>
    public double? Actual { get; init; }

    /// <summary>Null where the plan sets none, and for a county or pasture where the plan's figure is the city's goal.</summary>
    public double? Target2021 { get; init; }
    public double? Target2023 { get; init; }
    public required string Formula { get; init; }
    public IReadOnlyList<KpiInput> Inputs { get; init; } = [];
    public string Note { get; init; } = "";

    /// <summary>True when the actual is an estimate rather than a count (<see cref="EstimateBasis"/> says why).</summary>
    public bool Estimate { get; init; }
    public string EstimateBasis { get; init; } = "";

    /// <summary>Null for measures read from the registry alone (capacity, farm counts).</summary>
    public KpiCoverage? Coverage { get; init; }

    /// <summary>The pastures a definition was applied to (smart demonstration pastures), capped at <see cref="KpiCalculator.MaxListedIds"/>.</summary>
    public IReadOnlyList<KpiSubject> Subjects { get; init; } = [];

    public bool? Met2021 => Actual is { } a && Target2021 is { } t ? a >= t : null;
    public bool? Met2023 => Actual is { } a && Target2023 is { } t ? a >= t : null;
}

public sealed record KpiRequest
{
    /// <summary><c>city</c> (Hohhot's counties), <c>county</c> or <c>pasture</c>.</summary>
    public required string ScopeKind { get; init; }
    public string ScopeId { get; init; } = "";

    /// <summary>The local day of the per-day measures (and the year, to this day, of the per-year one).</summary>
    public required DateOnly Date { get; init; }

    /// <summary>The window of the rates (manure, immunisation, antibodies, supervisory sampling, smart pastures).</summary>
    public required DateOnly From { get; init; }
    public required DateOnly To { get; init; }
}

/// <summary>
/// Every target of targets.md measured from the data, for Hohhot (the plan is Hohhot's), a county or a pasture.
/// Milk volumes come from each pasture's rollup, so they can be scoped to Hohhot's counties and split by species;
/// milk processed from the plants' receipts (<c>receipt_acceptance</c>: accepted receipts only); stock, capacity and
/// farm counts from the registry (and the latest census where pastures report one); rates from the quality, manure
/// and health records. Targets are data (Kpi/plan-targets.json); a county or pasture is never compared with a goal
/// the plan sets for the whole city. Every measure says which pastures or plants in scope reported.
/// </summary>
public sealed partial class KpiCalculator(NpgsqlDataSource dataSource, IMilkTotalsSource milk, AuditQueries audits, IOptions<AuditOptions> options,
    IAnimalRegistryFigures animals)
{
    /// <summary>The city whose plan the targets are: only its counties (<c>county.city</c>) count toward them.</summary>
    public const string PlanCity = "Hohhot";

    public const int MaxListedIds = 20;

    public static readonly string[] ScopeKinds = ["city", "county", "pasture"];

    private const string NotThisScopesGoal = "No target: the plan's figure is the city's goal, not this scope's.";

    private static readonly Lazy<Dictionary<string, PlanTarget>> Targets = new(LoadTargets);

    private sealed record PastureRow(string Id, string CountyId, string City, string Species, int Capacity);

    private sealed record PlantRow(string Id, string CountyId, string City, string Species, decimal Capacity);

    private sealed record PlanTarget(string Description, string Unit, double? T2021, double? T2023, bool CityGoal);

    private sealed class Scope
    {
        public required KpiRequest Request { get; init; }
        public required List<PastureRow> Pastures { get; init; }
        public required List<PastureRow> Bases { get; init; }
        public required List<PlantRow> Plants { get; init; }
        public bool IsCity => Request.ScopeKind == "city";
        public string[] PastureIds => Pastures.Select(p => p.Id).ToArray();
    }

    public async Task<IReadOnlyList<KpiValue>> MeasureAsync(KpiRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        var scope = await LoadScopeAsync(connection, request, cancellationToken);
        // One rollup read per pasture, all at once: a city has a few hundred pastures, each grain answers from memory.
        var members = scope.Pastures.Concat(scope.Bases).ToList();
        var read = await Task.WhenAll(members.Select(p => milk.GetAllDaysAsync(RollupKeys.Pasture(p.Id))));
        var days = new Dictionary<string, Dictionary<DateOnly, DailyTotals>>(StringComparer.Ordinal);
        for (var i = 0; i < members.Count; i++)
        {
            days[members[i].Id] = read[i];
        }

        var values = new List<KpiValue>();
        values.AddRange(await ProcessingAsync(connection, scope, cancellationToken));
        values.AddRange(Production(scope, days));
        values.Add(GoatProcessingCapacity(scope, values[0]));
        values.AddRange(await HerdAsync(connection, scope, cancellationToken));
        values.Add(RawMilkYearToDate(scope, days));
        values.Add(Value(scope, "pastures.new_large_cow", null, "registry count of large cow pastures built under the plan", [],
            "Not measurable: the registry records no construction date or 'new under the plan' marker."));
        var goatPastures = scope.Pastures.Count(p => p.Species == "goat");
        values.Add(Value(scope, "pastures.goat_scale_farms", goatPastures, $"registry count of goat pastures in {Describe(scope)}",
            [new("goat_pastures", goatPastures, "pastures")], "Counts every registered goat pasture; the registry has no scale threshold."));
        values.Add(await SmartPasturesAsync(connection, scope, days, cancellationToken));
        values.AddRange(await ForageAsync(connection, scope, cancellationToken));
        values.Add(Value(scope, "feed.forage_base", null, "registry of forage fields", [], "Not measurable: the platform has no field registry."));
        values.Add(await ManureAsync(connection, scope, cancellationToken));
        values.AddRange(await HealthAsync(connection, scope, cancellationToken));
        values.AddRange(await BreedingAsync(scope, cancellationToken));
        values.Add(await SupervisoryAsync(connection, scope, cancellationToken));
        values.Add(Value(scope, "chain.output_value", null, "", [], "Out of scope for telemetry: shown as a target only."));
        return values;
    }

    /// <summary>
    /// The two daily city figures the throughput answer compares with the plan: Hohhot's plants' accepted milk and
    /// Hohhot's cow pastures' collections on the day (the same measures as <see cref="MeasureAsync"/>'s).
    /// </summary>
    public async Task<(KpiValue Processed, KpiValue Produced)> CityDailyGoalsAsync(DateOnly date, CancellationToken cancellationToken)
    {
        var request = new KpiRequest { ScopeKind = "city", Date = date, From = date, To = date };
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        var scope = await LoadScopeAsync(connection, request, cancellationToken);
        var cows = scope.Pastures.Concat(scope.Bases).Where(p => p.Species == "cow").ToList();
        var read = await Task.WhenAll(cows.Select(p => milk.GetDayAsync(RollupKeys.Pasture(p.Id), date)));
        var days = new Dictionary<string, Dictionary<DateOnly, DailyTotals>>(StringComparer.Ordinal);
        for (var i = 0; i < cows.Count; i++)
        {
            days[cows[i].Id] = new Dictionary<DateOnly, DailyTotals> { [date] = read[i] };
        }

        var processing = await ProcessingAsync(connection, scope, cancellationToken);
        return (processing[0], Production(scope, days)[0]);
    }

    private static async Task<Scope> LoadScopeAsync(NpgsqlConnection connection, KpiRequest request, CancellationToken cancellationToken)
    {
        if (Array.IndexOf(ScopeKinds, request.ScopeKind) < 0 || (request.ScopeKind != "city" && request.ScopeId.Length == 0))
        {
            throw new ArgumentException("KPIs are measured for the city, a county (with its id) or a pasture (with its id).", nameof(request));
        }

        if (request.From > request.To)
        {
            throw new ArgumentException("The window's From must not be after its To.", nameof(request));
        }

        var pastures = (await connection.QueryAsync<PastureRow>(new CommandDefinition(
            """
            select p.id as Id, p.county_id as CountyId, c.city as City, p.species as Species, p.capacity_head as Capacity
            from pasture p join county c on c.id = p.county_id order by p.id
            """, cancellationToken: cancellationToken))).AsList();
        var plants = (await connection.QueryAsync<PlantRow>(new CommandDefinition(
            """
            select p.id as Id, p.county_id as CountyId, c.city as City, p.species as Species, p.daily_capacity_t as Capacity
            from plant p join county c on c.id = p.county_id order by p.id
            """, cancellationToken: cancellationToken))).AsList();
        var id = request.ScopeId;
        return request.ScopeKind switch
        {
            "city" => new Scope
            {
                Request = request,
                Pastures = pastures.FindAll(p => p.City == PlanCity),
                Bases = pastures.FindAll(p => p.City != PlanCity),
                Plants = plants.FindAll(p => p.City == PlanCity),
            },
            "county" => new Scope { Request = request, Pastures = pastures.FindAll(p => p.CountyId == id), Bases = [], Plants = plants.FindAll(p => p.CountyId == id) },
            _ => new Scope { Request = request, Pastures = pastures.FindAll(p => p.Id == id), Bases = [], Plants = [] },
        };
    }

    // Processing: the plan's 乳业加工业日处理鲜奶 is what the dairy plants in Hohhot process, whatever the milk's origin
    // (the plan's 10,000 t/day exceeds its 6,900 t/day local production because the bases' milk is processed in Hohhot),
    // so every receipt at a Hohhot plant counts, bases' milk included; only accepted receipts are processed.
    private async Task<List<KpiValue>> ProcessingAsync(NpgsqlConnection connection, Scope scope, CancellationToken cancellationToken)
    {
        var date = scope.Request.Date;
        var day = Iso(date);
        if (scope.Request.ScopeKind == "pasture")
        {
            return
            [
                Value(scope, "processing.fresh_milk_per_day", null, "accepted receipts at the scope's plants", [], "A pasture processes no milk."),
                Value(scope, "processing.rejected_per_day", null, "rejected receipts at the scope's plants", [], "A pasture processes no milk."),
            ];
        }

        var plantIds = scope.Plants.Select(p => p.Id).ToArray();
        var receipts = (await connection.QueryAsync<(string PlantId, string Species, double Kg, bool Accepted, string? Reason)>(new CommandDefinition(
            """
            select plant_id, species, kg, accepted, rejection_reason from receipt_acceptance
            where plant_id = any(@plantIds) and at >= @start and at < @end
            """,
            new { plantIds, start = ChinaTime.StartOfDay(date), end = ChinaTime.StartOfDay(date.AddDays(1)) },
            cancellationToken: cancellationToken))).AsList();
        double acceptedKg = 0, cowKg = 0, goatKg = 0, rejectedKg = 0;
        int accepted = 0, rejected = 0, refused = 0, failedTest = 0;
        var reporting = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in receipts)
        {
            reporting.Add(r.PlantId);
            if (r.Accepted)
            {
                acceptedKg += r.Kg;
                accepted++;
                if (r.Species == "goat")
                {
                    goatKg += r.Kg;
                }
                else
                {
                    cowKg += r.Kg;
                }
            }
            else
            {
                rejectedKg += r.Kg;
                rejected++;
                refused += r.Reason == "refused_at_weighbridge" ? 1 : 0;
                failedTest += r.Reason == "failed_acceptance_test" ? 1 : 0;
            }
        }

        var coverage = Coverage("plants", plantIds, reporting);
        const string rule = "a receipt is rejected when the weighbridge refused it or a plant_acceptance test of its tanker load failed or screened positive (view receipt_acceptance)";
        var where = scope.IsCity ? $"plants in {PlanCity}'s counties (milk from anywhere, milk-source bases included)" : $"plants in {Describe(scope)}";
        return
        [
            Value(scope, "processing.fresh_milk_per_day", acceptedKg / 1000,
                $"sum of accepted receipts' net kg at {where} on {day} (local day) / 1000; {rule}",
                [new("accepted_kg", acceptedKg, "kg"), new("accepted_receipts", accepted, "loads"),
                 new("accepted_cow_milk_kg", cowKg, "kg"), new("accepted_goat_milk_kg", goatKg, "kg"),
                 new("rejected_kg", rejectedKg, "kg"), new("rejected_receipts", rejected, "loads")],
                "Rejected loads are not processed: see processing.rejected_per_day.", coverage: coverage),
            Value(scope, "processing.rejected_per_day", rejectedKg / 1000,
                $"sum of rejected receipts' net kg at {where} on {day} / 1000; {rule}",
                [new("rejected_kg", rejectedKg, "kg"), new("rejected_receipts", rejected, "loads"),
                 new("refused_at_weighbridge", refused, "loads"), new("failed_acceptance_test", failedTest, "loads")],
                "Milk sent back; reported apart from milk processed, never inside it.", coverage: coverage),
        ];
    }

    // 羊奶日处理鲜奶能力 is a capacity: the registered daily capacity of goat-milk plants (Hohhot's plants for the city);
    // the goat milk they accepted on the day stands beside it.
    private static KpiValue GoatProcessingCapacity(Scope scope, KpiValue processed)
    {
        var goatPlants = scope.Plants.Where(p => p.Species == "goat").ToList();
        var capacity = (double)goatPlants.Sum(p => p.Capacity);
        var acceptedGoat = processed.Inputs.FirstOrDefault(i => i.Name == "accepted_goat_milk_kg")?.Value ?? 0;
        return Value(scope, "goats.processing_capacity", capacity, $"sum of registered daily capacity of goat-milk plants in {Describe(scope)}",
            [new("goat_plant_capacity_t", capacity, "t/day"), new("goat_plants", goatPlants.Count, "plants"),
             new("goat_milk_accepted_on_the_day_kg", acceptedGoat, "kg")]);
    }

    private List<KpiValue> Production(Scope scope, Dictionary<string, Dictionary<DateOnly, DailyTotals>> days)
    {
        var date = scope.Request.Date;
        var values = new List<KpiValue>();
        foreach (var (species, key, what) in new[] { ("cow", "pastures.fresh_milk_per_day", "cow"), ("goat", "goats.milk_per_day", "goat") })
        {
            double kg = 0, basesKg = 0;
            long collections = 0;
            var ids = new List<string>();
            var reporting = new HashSet<string>(StringComparer.Ordinal);
            foreach (var pasture in scope.Pastures.Where(p => p.Species == species))
            {
                ids.Add(pasture.Id);
                var totals = Day(days, pasture.Id, date);
                kg += totals.CollectedKg;
                collections += totals.CollectionCount;
                if (totals.CollectionCount > 0)
                {
                    reporting.Add(pasture.Id);
                }
            }

            foreach (var pasture in scope.Bases.Where(p => p.Species == species))
            {
                basesKg += Day(days, pasture.Id, date).CollectedKg;
            }

            var inputs = new List<KpiInput> { new($"{what}_collected_kg", kg, "kg"), new("collections", collections, "collections") };
            if (scope.IsCity)
            {
                inputs.Add(new($"milk_source_bases_{what}_collected_kg", basesKg, "kg"));
                inputs.Add(new("milk_source_bases_pastures", scope.Bases.Count(p => p.Species == species), "pastures"));
            }

            values.Add(Value(scope, key, kg / 1000,
                $"sum of bulk-tank collections of {what} pastures in {Describe(scope)} on {Iso(date)} / 1000"
                + (species == "cow" ? " (goat milk has its own target: goats.milk_per_day)" : ""),
                inputs, scope.IsCity ? "The milk-source bases in other cities are reported beside (milk_source_bases_*), never inside." : "",
                coverage: Coverage($"{what} pastures", ids, reporting)));
        }

        return values;
    }

    private async Task<List<KpiValue>> HerdAsync(NpgsqlConnection connection, Scope scope, CancellationToken cancellationToken)
    {
        // Stock: registered animals alive at the day's end (the registry's count) on every pasture that keeps per-animal
        // records; elsewhere the latest census a pasture reported (any programme, any age) up to the window's end, else
        // its registered capacity. Each basis is summed apart in the inputs; only a count wholly from the registry is
        // not an estimate.
        var ids = scope.Pastures.Concat(scope.Bases).Select(p => p.Id).ToArray();
        var dayEnd = ChinaTime.StartOfDay(scope.Request.To.AddDays(1));
        var breeding = options.Value.Breeding;
        var registered = await animals.PasturesWithAnimalsAsync(ids, dayEnd, cancellationToken);
        var stock = await animals.StockAsync(ids, dayEnd, breeding.GoatBreedingAgeMonths, breeding.EffectiveHerdBookGoatBreeds, cancellationToken);
        var census = (await connection.QueryAsync<(string PastureId, int InStock)>(new CommandDefinition(
            """
            select distinct on (pasture_id) pasture_id, in_stock from health_record
            where event = 'census' and local_date <= @to and pasture_id = any(@ids)
            order by pasture_id, local_date desc, event_time desc
            """, new { to = scope.Request.To.ToDateTime(TimeOnly.MinValue), ids }, cancellationToken: cancellationToken)))
            .ToDictionary(r => r.PastureId, r => r.InStock, StringComparer.Ordinal);
        double Head(PastureRow p) => registered.Contains(p.Id) ? stock.GetValueOrDefault(p.Id)?.Alive ?? 0 : census.TryGetValue(p.Id, out var h) ? h : p.Capacity;
        var values = new List<KpiValue>();
        foreach (var (species, key) in new[] { ("cow", "herd.dairy_cows"), ("goat", "herd.dairy_goats") })
        {
            double fromRegistry = 0, fromCensus = 0, fromCapacity = 0;
            var fromRegistryPastures = new HashSet<string>(StringComparer.Ordinal);
            var censused = new HashSet<string>(StringComparer.Ordinal);
            var all = new List<string>();
            foreach (var pasture in scope.Pastures.Where(p => p.Species == species))
            {
                all.Add(pasture.Id);
                if (registered.Contains(pasture.Id))
                {
                    fromRegistry += Head(pasture);
                    fromRegistryPastures.Add(pasture.Id);
                }
                else if (census.TryGetValue(pasture.Id, out var head))
                {
                    fromCensus += head;
                    censused.Add(pasture.Id);
                }
                else
                {
                    fromCapacity += pasture.Capacity;
                }
            }

            var inputs = new List<KpiInput>
            {
                new("head_from_registry", fromRegistry, "head"), new("pastures_from_registry", fromRegistryPastures.Count, "pastures"),
                new("head_from_census", fromCensus, "head"), new("pastures_with_census", censused.Count, "pastures"),
                new("head_from_registered_capacity", fromCapacity, "head"),
                new("pastures_without_census", all.Count - censused.Count - fromRegistryPastures.Count, "pastures"),
            };
            if (scope.IsCity)
            {
                inputs.Add(new("milk_source_bases_head", scope.Bases.Where(p => p.Species == species).Sum(Head), "head"));
            }

            var estimated = all.Count - fromRegistryPastures.Count;
            values.Add(Value(scope, key, fromRegistry + fromCensus + fromCapacity,
                $"sum over {species} pastures in {Describe(scope)} of the registered animals alive at the end of {Iso(scope.Request.To)} (pastures with per-animal records), "
                + "else the latest census head in stock to that day, else the registered capacity",
                inputs, scope.IsCity ? "The milk-source bases in other cities are reported beside (milk_source_bases_head), never inside." : "",
                estimate: estimated == 0 ? "" : $"{fromRegistryPastures.Count} of {all.Count} pastures counted from the registry (head_from_registry, a count); "
                    + $"{censused.Count} from a self-reported census of animals of any age (heifers and calves included) and {estimated - censused.Count} at "
                    + "their registered capacity (head_from_census, head_from_registered_capacity): an estimate until every pasture keeps per-animal records.",
                coverage: Coverage($"{species} pastures (registry or census)", all, [.. fromRegistryPastures, .. censused])));
        }

        var goats = scope.Pastures.Where(p => p.Species == "goat").ToList();
        var breedingGoats = goats.Sum(p => stock.GetValueOrDefault(p.Id)?.BreedingAgeHerdBookGoats ?? 0);
        var goatRegistry = goats.Where(p => registered.Contains(p.Id)).Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        values.Add(Value(scope, "goats.breeding_stock", goatRegistry.Count == 0 ? null : breedingGoats,
            $"registered goats alive at the end of {Iso(scope.Request.To)} on goat pastures in {Describe(scope)}, at least {breeding.GoatBreedingAgeMonths} months old, "
            + $"of a herd-book dairy breed ({string.Join(", ", breeding.EffectiveHerdBookGoatBreeds)}; Audit:Breeding)",
            [new("breeding_goats", breedingGoats, "head"), new("goat_pastures_from_registry", goatRegistry.Count, "pastures"),
             new("breeding_age_months", breeding.GoatBreedingAgeMonths, "months")],
            "The plan's 引进优质种羊 1,500 (2021) and 3,000 (by 2023) are quality breeding goats brought in, with herd-book registration (良种登记); "
            + "the registry counts the breeding stock kept. Only pastures with per-animal records can count: a goat pasture without them is in the coverage's silent list.",
            coverage: Coverage("goat pastures (registry)", goats.Select(p => p.Id).ToList(), goatRegistry)));
        return values;
    }

    private KpiValue RawMilkYearToDate(Scope scope, Dictionary<string, Dictionary<DateOnly, DailyTotals>> days)
    {
        var date = scope.Request.Date;
        var first = new DateOnly(date.Year, 1, 1);
        double cowKg = 0, goatKg = 0, basesKg = 0;
        var reporting = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pasture in scope.Pastures.Concat(scope.Bases))
        {
            if (!days.TryGetValue(pasture.Id, out var byDay))
            {
                continue;
            }

            var isBase = scope.Bases.Contains(pasture);
            foreach (var (d, totals) in byDay)
            {
                if (d < first || d > date)
                {
                    continue;
                }

                if (isBase)
                {
                    basesKg += totals.CollectedKg;
                    continue;
                }

                if (totals.CollectionCount > 0)
                {
                    reporting.Add(pasture.Id);
                }

                if (pasture.Species == "goat")
                {
                    goatKg += totals.CollectedKg;
                }
                else
                {
                    cowKg += totals.CollectedKg;
                }
            }
        }

        var inputs = new List<KpiInput>
        {
            new("cow_collected_kg", cowKg, "kg"), new("goat_collected_kg", goatKg, "kg"),
            new("days_of_year_to_date", date.DayNumber - first.DayNumber + 1, "days"),
        };
        if (scope.IsCity)
        {
            inputs.Add(new("milk_source_bases_collected_kg", basesKg, "kg"));
        }

        return Value(scope, "raw_milk.per_year", (cowKg + goatKg) / 1000,
            $"sum of bulk-tank collections (cow and goat) of pastures in {Describe(scope)} from {Iso(first)} to {Iso(date)} / 1000 (year to date)",
            inputs, "Year to date: the target is a whole year's, so it is met only when the year's milk reaches it."
                + (scope.IsCity ? " The milk-source bases are reported beside (milk_source_bases_collected_kg), never inside." : ""),
            coverage: Coverage("pastures (any collection this year)", scope.PastureIds, reporting));
    }

    // The plan's smart demonstration pasture applies TMR, milk-quality testing and manure use on line (三(一) 2.(3), 推进乳业智慧化水平建设).
    // Each must be reported on enough of the window's days: bulk-tank collections, milkings and TMR loads daily (milk
    // leaves the tank every day, the parlour milks 2-3 times a day, the mixer loads every day), a quality sample and a
    // manure record in every QualityEveryDays / ManureEveryDays days.
    private async Task<KpiValue> SmartPasturesAsync(
        NpgsqlConnection connection, Scope scope, Dictionary<string, Dictionary<DateOnly, DailyTotals>> days, CancellationToken cancellationToken)
    {
        var smart = options.Value.SmartPasture;
        var (from, to) = (scope.Request.From, scope.Request.To);
        var windowDays = to.DayNumber - from.DayNumber + 1;
        var args = new { ids = scope.PastureIds, from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue) };
        var qualityDays = (await connection.QueryAsync<(string PastureId, DateTime Day)>(new CommandDefinition(
            "select distinct pasture_id, sampled_on from quality_result where pasture_id = any(@ids) and sampled_on between @from and @to",
            args, cancellationToken: cancellationToken))).ToLookup(r => r.PastureId, r => DateOnly.FromDateTime(r.Day), StringComparer.Ordinal);
        var manureDays = (await connection.QueryAsync<(string PastureId, DateTime Day)>(new CommandDefinition(
            "select distinct pasture_id, local_date from manure_record where pasture_id = any(@ids) and local_date between @from and @to",
            args, cancellationToken: cancellationToken))).ToLookup(r => r.PastureId, r => DateOnly.FromDateTime(r.Day), StringComparer.Ordinal);

        var tmrDays = (await connection.QueryAsync<(string PastureId, DateTime Day)>(new CommandDefinition(
            "select distinct pasture_id, local_date from feed_load where pasture_id = any(@ids) and local_date between @from and @to",
            args, cancellationToken: cancellationToken))).ToLookup(r => r.PastureId, r => DateOnly.FromDateTime(r.Day), StringComparer.Ordinal);

        var subjects = new List<KpiSubject>();
        var reporting = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pasture in scope.Pastures)
        {
            int collectionDays = 0, milkingDays = 0;
            if (days.TryGetValue(pasture.Id, out var byDay))
            {
                foreach (var (d, totals) in byDay)
                {
                    if (d >= from && d <= to)
                    {
                        collectionDays += totals.CollectionCount > 0 ? 1 : 0;
                        milkingDays += totals.MilkingCount > 0 ? 1 : 0;
                    }
                }
            }

            var quality = qualityDays[pasture.Id].ToHashSet();
            var manure = manureDays[pasture.Id].ToHashSet();
            var tmr = tmrDays[pasture.Id].Count();
            if (collectionDays + milkingDays + quality.Count + manure.Count + tmr > 0)
            {
                reporting.Add(pasture.Id);
            }

            var missing = new List<string>();
            if (collectionDays < smart.MinCollectionDayShare * windowDays)
            {
                missing.Add($"bulk-tank collections on {collectionDays} of {windowDays} days (needs {smart.MinCollectionDayShare:P0})");
            }

            if (milkingDays < smart.MinMilkingDayShare * windowDays)
            {
                missing.Add($"milkings on {milkingDays} of {windowDays} days (needs {smart.MinMilkingDayShare:P0})");
            }

            if (tmr < smart.MinTmrDayShare * windowDays)
            {
                missing.Add($"TMR loads on {tmr} of {windowDays} days (needs {smart.MinTmrDayShare:P0})");
            }

            var qualityGaps = PeriodsWithout(quality, from, to, smart.QualityEveryDays);
            if (qualityGaps > 0)
            {
                missing.Add($"no quality sample in {qualityGaps} of the window's {smart.QualityEveryDays}-day periods");
            }

            var manureGaps = PeriodsWithout(manure, from, to, smart.ManureEveryDays);
            if (manureGaps > 0)
            {
                missing.Add($"no manure record in {manureGaps} of the window's {smart.ManureEveryDays}-day periods");
            }

            subjects.Add(new KpiSubject(pasture.Id, missing.Count == 0, missing.Count == 0 ? "every stream reported" : string.Join("; ", missing)));
        }

        var qualified = subjects.Count(s => s.Qualified);
        var listed = subjects.Where(s => s.Qualified).Concat(subjects.Where(s => !s.Qualified)).Take(MaxListedIds).ToList();
        return Value(scope, "pastures.smart_demo", qualified,
            $"pastures in {Describe(scope)} that from {Iso(from)} to {Iso(to)} reported bulk-tank collections on >= {smart.MinCollectionDayShare:P0} of the days, "
            + $"milkings on >= {smart.MinMilkingDayShare:P0} of the days, TMR mixer loads on >= {smart.MinTmrDayShare:P0} of the days, "
            + $"a quality sample in every {smart.QualityEveryDays} days and a manure record in every {smart.ManureEveryDays} days",
            [new("qualified", qualified, "pastures"), new("not_qualified", subjects.Count - qualified, "pastures"), new("window_days", windowDays, "days")],
            "The plan's three smart facilities (TMR mixing, milk quality testing, manure use) each on line, with the milk streams. "
            + "Thresholds are configuration (Audit:SmartPasture).",
            coverage: Coverage("pastures", scope.PastureIds, reporting), subjects: listed);
    }

    // The plan (三(一) 1., 提高优质粗饲料供给能力): silage corn "basically self-sufficient" (基本自给, no figure), and quality
    // oat hay and alfalfa 本土自给率 (local self-sufficiency) >= 20 % in 2021 and >= 30 % in 2023. Local is Hohhot: the plan
    // is the city's and gives every sown area by its banners and counties, so the origins local_farm and hohhot count and
    // inner_mongolia (the rest of the region) and imported do not. Measured from what was fed, by dry matter (a hay's
    // and a silage's kg as fed are not comparable), over the loads of the window: kg loaded x dry matter %.
    private async Task<List<KpiValue>> ForageAsync(NpgsqlConnection connection, Scope scope, CancellationToken cancellationToken)
    {
        var rows = (await connection.QueryAsync<(string PastureId, string Category, string? Origin, double DmKg)>(new CommandDefinition(
            """
            select pasture_id, category, origin, sum(loaded_kg * dry_matter_percent / 100) from feed_load_ingredient
            where local_date between @from and @to and pasture_id = any(@ids) and category in ('silage_corn', 'oat_hay', 'alfalfa')
            group by pasture_id, category, origin
            """, new { ids = scope.PastureIds, from = scope.Request.From.ToDateTime(TimeOnly.MinValue), to = scope.Request.To.ToDateTime(TimeOnly.MinValue) },
            cancellationToken: cancellationToken))).AsList();
        var local = new HashSet<string>([Feeding.FeedOrigins.LocalFarmName, Feeding.FeedOrigins.HohhotName], StringComparer.Ordinal);

        KpiValue Share(string key, string[] categories, string what, string note)
        {
            var fed = rows.Where(r => categories.Contains(r.Category)).ToList();
            var inputs = new List<KpiInput>();
            foreach (var origin in Feeding.FeedOrigins.Names)
            {
                inputs.Add(new($"{origin}_dm_kg", fed.Where(r => r.Origin == origin).Sum(r => r.DmKg), "kg"));
            }

            var localKg = fed.Where(r => r.Origin is { } o && local.Contains(o)).Sum(r => r.DmKg);
            return Value(scope, key, Percent(localKg, fed.Sum(r => r.DmKg)),
                $"dry matter of {what} loaded from {Iso(scope.Request.From)} to {Iso(scope.Request.To)} of origin local_farm or hohhot / all of it × 100, pastures in {Describe(scope)}",
                inputs, note, coverage: Coverage("pastures (TMR loads)", scope.PastureIds, fed.Select(r => r.PastureId).ToHashSet(StringComparer.Ordinal)));
        }

        return
        [
            Share("feed.forage_self_sufficiency", ["oat_hay", "alfalfa"], "oat hay and alfalfa",
                "Local (本土) is taken as grown in Hohhot: the plan gives its sown areas by the city's banners and counties; forage from elsewhere in Inner Mongolia does not count. Silage corn is apart (feed.silage_corn_self_sufficiency): the plan's 20 %/30 % are for oat hay and alfalfa."),
            Share("feed.silage_corn_self_sufficiency", ["silage_corn"], "silage corn",
                "The plan asks silage corn to be basically self-sufficient (基本自给) without a figure, so there is no target."),
        ];
    }

    /// <summary>How many of the consecutive <paramref name="every"/>-day periods of the window (the last may be shorter) have no record.</summary>
    private static int PeriodsWithout(HashSet<DateOnly> recorded, DateOnly from, DateOnly to, int every)
    {
        var gaps = 0;
        for (var start = from; start <= to; start = start.AddDays(every))
        {
            var end = start.AddDays(every - 1) < to ? start.AddDays(every - 1) : to;
            var found = false;
            foreach (var d in recorded)
            {
                found |= d >= start && d <= end;
            }

            gaps += found ? 0 : 1;
        }

        return gaps;
    }

    private async Task<KpiValue> ManureAsync(NpgsqlConnection connection, Scope scope, CancellationToken cancellationToken)
    {
        var rows = (await connection.QueryAsync<(string PastureId, double Produced, double Applied, double Treated)>(new CommandDefinition(
            """
            select pasture_id, sum(produced_kg), sum(applied_kg), sum(treated_kg) from manure_record
            where local_date between @from and @to and pasture_id = any(@ids) group by pasture_id
            """, new { ids = scope.PastureIds, from = scope.Request.From.ToDateTime(TimeOnly.MinValue), to = scope.Request.To.ToDateTime(TimeOnly.MinValue) },
            cancellationToken: cancellationToken))).AsList();
        double produced = rows.Sum(r => r.Produced), applied = rows.Sum(r => r.Applied), treated = rows.Sum(r => r.Treated);
        return Value(scope, "manure.utilisation_rate", Percent(applied + treated, produced),
            $"(applied to fields + treated) / produced × 100 over the window, pastures in {Describe(scope)}",
            [new("produced_kg", produced, "kg"), new("applied_kg", applied, "kg"), new("treated_kg", treated, "kg")],
            coverage: Coverage("pastures", scope.PastureIds, rows.Select(r => r.PastureId).ToHashSet(StringComparer.Ordinal)));
    }

    // Immunisation density is immunity in force (domain.md): an animal is immune while its last vaccination is within the
    // programme's protection period. Health records are aggregate counts per pasture and day, so per pasture the head
    // immune on the window's last day is estimated as the head vaccinated within the protection period before it, never
    // more than the head in stock (a head vaccinated twice in the period would otherwise count twice).
    private async Task<List<KpiValue>> HealthAsync(NpgsqlConnection connection, Scope scope, CancellationToken cancellationToken)
    {
        var to = scope.Request.To;
        var values = new List<KpiValue>();
        foreach (var programme in options.Value.EffectiveProgrammes)
        {
            var pastures = scope.Pastures.Where(p => programme.Applies(p.Species)).ToList();
            var ids = pastures.Select(p => p.Id).ToArray();
            var periodStart = to.AddDays(1 - programme.ProtectionDays);
            var rows = (await connection.QueryAsync<(string PastureId, long? InStock, long? Due, long Vaccinated, long LargestSession, long Tested, long Protective)>(new CommandDefinition(
                """
                with latest as (
                    select distinct on (pasture_id) pasture_id, in_stock, due from health_record
                    where event = 'census' and programme = @programme and local_date <= @to and pasture_id = any(@ids)
                    order by pasture_id, local_date desc, event_time desc),
                given as (
                    select pasture_id, sum(vaccinated) as vaccinated, max(vaccinated) as largest from health_record
                    where event = 'vaccination' and programme = @programme and local_date between @periodStart and @to and pasture_id = any(@ids)
                    group by pasture_id),
                titres as (
                    select pasture_id, sum(tested) as tested, sum(protective) as protective from health_record
                    where event = 'antibody_test' and programme = @programme and local_date between @from and @to and pasture_id = any(@ids)
                    group by pasture_id)
                select p.id, l.in_stock::bigint, l.due::bigint, coalesce(g.vaccinated, 0)::bigint, coalesce(g.largest, 0)::bigint,
                       coalesce(t.tested, 0)::bigint, coalesce(t.protective, 0)::bigint
                from unnest(@ids) as p(id)
                left join latest l on l.pasture_id = p.id
                left join given g on g.pasture_id = p.id
                left join titres t on t.pasture_id = p.id
                """,
                new
                {
                    programme = programme.Id, ids, to = to.ToDateTime(TimeOnly.MinValue), from = scope.Request.From.ToDateTime(TimeOnly.MinValue),
                    periodStart = periodStart.ToDateTime(TimeOnly.MinValue),
                }, cancellationToken: cancellationToken))).AsList();

            double inStock = 0, due = 0, immune = 0, immuneOfDue = 0, lowerBound = 0, vaccinated = 0, atCapacity = 0;
            long tested = 0, protective = 0;
            var censused = new HashSet<string>(StringComparer.Ordinal);
            var tests = new HashSet<string>(StringComparer.Ordinal);

            // Per animal where the pasture keeps per-animal records of the programme and registered animals: immune =
            // alive at the day's end with a vaccination or a protective antibody test within the protection period;
            // every registered animal is due (the registry cannot tell the exempt). Those pastures' aggregate records
            // are not read. (HealthPerAnimal in KpiCalculator.Registry.cs.)
            var perAnimal = await PerAnimalImmunityAsync(ids, programme, scope.Request.From, to, cancellationToken);
            inStock += perAnimal.InStock;
            due += perAnimal.InStock;
            immune += perAnimal.Immune;
            immuneOfDue += perAnimal.Immune;
            tested += perAnimal.Tested;
            protective += perAnimal.Protective;
            censused.UnionWith(perAnimal.Pastures);
            tests.UnionWith(perAnimal.TestedPastures);
            foreach (var r in rows)
            {
                if (perAnimal.Pastures.Contains(r.PastureId))
                {
                    continue;
                }

                // No census for the programme: the registered capacity stands in for both stock and due, which can only lower the rate.
                var capacity = pastures.First(p => p.Id == r.PastureId).Capacity;
                var stock = r.InStock ?? capacity;
                var dueHere = r.Due ?? stock;
                if (r.InStock is null)
                {
                    atCapacity++;
                }
                else
                {
                    censused.Add(r.PastureId);
                }

                inStock += stock;
                due += dueHere;
                vaccinated += r.Vaccinated;
                immune += Math.Min(r.Vaccinated, stock);
                immuneOfDue += Math.Min(r.Vaccinated, dueHere);
                lowerBound += Math.Min(r.LargestSession, stock);
                tested += r.Tested;
                protective += r.Protective;
                if (r.Tested > 0)
                {
                    tests.Add(r.PastureId);
                }
            }

            var species = programme.Species.Count == 0 ? "every species" : string.Join(" and ", programme.Species);
            var period = $"{programme.ProtectionDays}-day protection period ({Iso(periodStart)} to {Iso(to)})";
            const string basis = "Health records are aggregate counts per pasture and day, not per animal: head immune is estimated per pasture as the head "
                + "vaccinated within the protection period, capped at the head in stock (due), so repeated doses never count twice over the stock; "
                + "the largest single session (immune_lower_bound) bounds it from below. Until the animals issue brings per-animal records.";
            var coverage = Coverage($"{species} pastures (per-animal records or census)", ids, censused);
            var estimated = ids.Length - perAnimal.Pastures.Count;
            var health = estimated == 0 ? "" : $"{perAnimal.Pastures.Count} of {ids.Length} pastures from per-animal records (counts); {estimated} from the pasture-level health aggregate: " + basis;
            IReadOnlyList<KpiInput> common =
            [
                new("vaccinated_in_protection_period", vaccinated, "head"), new("immune_lower_bound", lowerBound, "head"),
                new("protection_days", programme.ProtectionDays, "days"), new("pastures_without_census_at_capacity", atCapacity, "pastures"),
                new("pastures_per_animal", perAnimal.Pastures.Count, "pastures"), new("immune_per_animal", perAnimal.Immune, "head"),
                new("in_stock_per_animal", perAnimal.InStock, "head"), new("immune_by_vaccination_per_animal", perAnimal.ByVaccination, "head"),
                new("immune_by_antibody_test_per_animal", perAnimal.ByAntibodyTest, "head"),
            ];
            values.Add(Value(scope, "health.group_immunisation_density", Percent(immune, inStock),
                $"head immune (vaccinated within the {period}, at most the head in stock, per pasture; per animal where the pasture keeps per-animal records: "
                + "a vaccination or protective antibody test within the period) / head in stock (registered animals alive at the day's end where per animal, else latest census, else capacity) × 100; "
                + $"{species} pastures",
                [new("immune", immune, "head"), new("in_stock", inStock, "head"), .. common], programme: programme.Id, estimate: health, coverage: coverage));
            values.Add(Value(scope, "health.required_immunisation_density", Percent(immuneOfDue, due),
                $"head immune (vaccinated within the {period}, at most the head due, per pasture) / head due for vaccination (latest census: excludes too young, recently vaccinated, sick, late pregnancy) × 100; {species} pastures",
                [new("immune", immuneOfDue, "head"), new("due", due, "head"), .. common], programme: programme.Id, estimate: health, coverage: coverage));
            if (programme.ProtectiveTitre > 0)
            {
                values.Add(Value(scope, "health.antibody_pass_rate", Percent(protective, tested),
                    $"titre tests at or above 1:{programme.ProtectiveTitre} / titre tests × 100 over the window; {species} pastures",
                    [new("protective", protective, "samples"), new("tested", tested, "samples"), new("protective_titre", programme.ProtectiveTitre, "1:x")],
                    programme: programme.Id, coverage: Coverage($"{species} pastures (titre tests)", ids, tests)));
            }
        }

        return values;
    }

    private async Task<KpiValue> SupervisoryAsync(NpgsqlConnection connection, Scope scope, CancellationToken cancellationToken)
    {
        var auditScope = scope.Request.ScopeKind == "city" ? new AuditScope("city", PlanCity) : new AuditScope(scope.Request.ScopeKind, scope.Request.ScopeId);
        var supervisory = await audits.PassRatesAsync(new AuditQuery
        {
            Scope = auditScope,
            From = scope.Request.From,
            To = scope.Request.To,
            SampleKind = SampleKinds.Supervisory,
        }, cancellationToken);
        var sampled = (await connection.QueryAsync<string>(new CommandDefinition(
            """
            select distinct pasture_id from quality_result
            where sample_kind = 'supervisory' and pasture_id = any(@ids) and sampled_on between @from and @to
            """, new { ids = scope.PastureIds, from = scope.Request.From.ToDateTime(TimeOnly.MinValue), to = scope.Request.To.ToDateTime(TimeOnly.MinValue) },
            cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal);
        return Value(scope, "quality.supervisory_pass_rate", supervisory.Overall.RatePercent,
            $"supervisory samples passing their rule version / supervisory samples judged × 100, {Describe(scope)}",
            [new("passed", supervisory.Overall.Passed, "samples"), new("failed", supervisory.Overall.Failed, "samples")],
            coverage: Coverage("pastures (supervisory samples)", scope.PastureIds, sampled));
    }

    private static DailyTotals Day(Dictionary<string, Dictionary<DateOnly, DailyTotals>> days, string pastureId, DateOnly date) =>
        days.TryGetValue(pastureId, out var byDay) && byDay.TryGetValue(date, out var totals) ? totals : default;

    private static KpiCoverage Coverage(string of, IReadOnlyCollection<string> inScope, HashSet<string> reported)
    {
        var silent = inScope.Where(id => !reported.Contains(id)).ToList();
        return new KpiCoverage(of, inScope.Count, inScope.Count - silent.Count, silent.Take(MaxListedIds).ToList(), silent.Count);
    }

    private static string Describe(Scope scope) => scope.Request.ScopeKind switch
    {
        "city" => $"{PlanCity}'s counties",
        "county" => $"county {scope.Request.ScopeId}",
        _ => $"pasture {scope.Request.ScopeId}",
    };

    private static string Iso(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static double? Percent(double part, double whole) => whole > 0 ? part * 100.0 / whole : null;

    private static KpiValue Value(Scope scope, string key, double? actual, string formula, IReadOnlyList<KpiInput> inputs, string note = "",
        string? programme = null, string estimate = "", KpiCoverage? coverage = null, IReadOnlyList<KpiSubject>? subjects = null)
    {
        var target = Targets.Value[key];
        var applies = !target.CityGoal || scope.IsCity;
        if (!applies && (target.T2021 is not null || target.T2023 is not null))
        {
            note = note.Length == 0 ? NotThisScopesGoal : NotThisScopesGoal + " " + note;
        }

        return new KpiValue
        {
            Key = key,
            Description = target.Description,
            Unit = target.Unit,
            Programme = programme,
            Actual = actual,
            Target2021 = applies ? target.T2021 : null,
            Target2023 = applies ? target.T2023 : null,
            Formula = formula,
            Inputs = inputs,
            Note = actual is null && note.Length == 0 ? "No data in the window." : note,
            Estimate = estimate.Length > 0,
            EstimateBasis = estimate,
            Coverage = coverage,
            Subjects = subjects ?? [],
        };
    }

    private static Dictionary<string, PlanTarget> LoadTargets()
    {
        using var stream = typeof(KpiCalculator).Assembly.GetManifestResourceStream("HohhotCluster.Telemetry.Audit.Kpi.plan-targets.json")
            ?? throw new InvalidOperationException("Kpi/plan-targets.json is missing from the assembly.");
        using var document = JsonDocument.Parse(stream);
        var targets = new Dictionary<string, PlanTarget>(StringComparer.Ordinal);
        foreach (var t in document.RootElement.GetProperty("targets").EnumerateArray())
        {
            static double? Number(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Number ? e.GetProperty(name).GetDouble() : null;
            targets[t.GetProperty("key").GetString()!] = new PlanTarget(
                t.GetProperty("description").GetString()!, t.GetProperty("unit").GetString()!, Number(t, "target2021"), Number(t, "target2023"),
                t.TryGetProperty("cityGoal", out var cityGoal) && cityGoal.GetBoolean());
        }

        return targets;
    }
}

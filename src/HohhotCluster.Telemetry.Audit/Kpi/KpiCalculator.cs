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

/// <summary>One target measured: actual against the 2021 and 2023 targets (null where the plan sets none), with its formula and inputs.</summary>
public sealed record KpiValue
{
    public required string Key { get; init; }
    public required string Description { get; init; }
    public required string Unit { get; init; }
    public string? Programme { get; init; }

    /// <summary>Null when the data cannot measure it (see <see cref="Note"/>).</summary>
    public double? Actual { get; init; }
    public double? Target2021 { get; init; }
    public double? Target2023 { get; init; }
    public required string Formula { get; init; }
    public IReadOnlyList<KpiInput> Inputs { get; init; } = [];
    public string Note { get; init; } = "";

    public bool? Met2021 => Actual is { } a && Target2021 is { } t ? a >= t : null;
    public bool? Met2023 => Actual is { } a && Target2023 is { } t ? a >= t : null;
}

public sealed record KpiRequest
{
    /// <summary><c>city</c> (every registered county) or <c>county</c>.</summary>
    public required string ScopeKind { get; init; }
    public string ScopeId { get; init; } = "";

    /// <summary>The local day of the per-day measures (and the year of the per-year one).</summary>
    public required DateOnly Date { get; init; }

    /// <summary>The window of the rates (manure, immunisation, antibodies, supervisory sampling, smart pastures).</summary>
    public required DateOnly From { get; init; }
    public required DateOnly To { get; init; }
}

/// <summary>
/// Every target of targets.md measured from the data. Milk volumes come from the rollup grains; stock, capacity and
/// farm counts from the registry (and the latest census where pastures report one); rates from the quality,
/// manure and health records. Targets are data (Kpi/plan-targets.json).
/// </summary>
public sealed class KpiCalculator(NpgsqlDataSource dataSource, IMilkTotalsSource milk, AuditQueries audits, IOptions<AuditOptions> options)
{
    private static readonly Lazy<Dictionary<string, (string Description, string Unit, double? T2021, double? T2023)>> Targets = new(LoadTargets);

    public async Task<IReadOnlyList<KpiValue>> MeasureAsync(KpiRequest request, CancellationToken cancellationToken)
    {
        if (request.ScopeKind is not ("city" or "county") || (request.ScopeKind == "county" && request.ScopeId.Length == 0))
        {
            throw new ArgumentException("KPIs are measured for the city or a county (with its id).", nameof(request));
        }

        var county = request.ScopeKind == "county" ? request.ScopeId : null;
        var rollupKey = county is null ? RollupKeys.City : RollupKeys.County(county);
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        var scope = new { county, from = request.From.ToDateTime(TimeOnly.MinValue), to = request.To.ToDateTime(TimeOnly.MinValue) };
        var pastures = (await connection.QueryAsync<(string Id, string Species, int Capacity)>(new CommandDefinition(
            "select id, species, capacity_head from pasture where @county::text is null or county_id = @county order by id", scope,
            cancellationToken: cancellationToken))).AsList();
        var goatCapacity = await connection.ExecuteScalarAsync<decimal>(new CommandDefinition(
            "select coalesce(sum(daily_capacity_t), 0) from plant where species = 'goat' and (@county::text is null or county_id = @county)", scope,
            cancellationToken: cancellationToken));

        var values = new List<KpiValue>();
        var day = await milk.GetDayAsync(rollupKey, request.Date);
        var date = request.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        values.Add(Value("processing.fresh_milk_per_day", day.ProcessedKg / 1000,
            $"sum of plant weighbridge intake on {date} (local day) / 1000",
            [new("intake_kg", day.ProcessedKg, "kg"), new("intake_count", day.IntakeCount, "loads")]));
        values.Add(Value("pastures.fresh_milk_per_day", day.CollectedKg / 1000,
            $"sum of bulk-tank collections on {date} / 1000",
            [new("collected_kg", day.CollectedKg, "kg"), new("collection_count", day.CollectionCount, "collections")]));

        double goatKg = 0;
        var goatPastures = 0;
        foreach (var pasture in pastures.Where(p => p.Species == "goat"))
        {
            goatKg += (await milk.GetDayAsync(RollupKeys.Pasture(pasture.Id), request.Date)).CollectedKg;
            goatPastures++;
        }

        values.Add(Value("goats.milk_per_day", goatKg / 1000, $"sum of bulk-tank collections of goat pastures on {date} / 1000",
            [new("goat_collected_kg", goatKg, "kg"), new("goat_pastures", goatPastures, "pastures")]));
        values.Add(Value("goats.processing_capacity", (double)goatCapacity, "sum of registered daily capacity of goat-milk plants",
            [new("goat_plant_capacity_t", (double)goatCapacity, "t/day")]));

        // Stock: the latest census a pasture reported (any programme) up to the window's end, else its registered capacity.
        var census = (await connection.QueryAsync<(string PastureId, int InStock)>(new CommandDefinition(
            """
            select distinct on (pasture_id) pasture_id, in_stock from health_record
            where event = 'census' and local_date <= @to and (@county::text is null or county_id = @county)
            order by pasture_id, local_date desc, event_time desc
            """, scope, cancellationToken: cancellationToken))).ToDictionary(r => r.PastureId, r => r.InStock, StringComparer.Ordinal);
        foreach (var (species, key) in new[] { ("cow", "herd.dairy_cows"), ("goat", "herd.dairy_goats") })
        {
            double fromCensus = 0, fromCapacity = 0;
            int censused = 0, registered = 0;
            foreach (var pasture in pastures.Where(p => p.Species == species))
            {
                if (census.TryGetValue(pasture.Id, out var head))
                {
                    fromCensus += head;
                    censused++;
                }
                else
                {
                    fromCapacity += pasture.Capacity;
                    registered++;
                }
            }

            values.Add(Value(key, fromCensus + fromCapacity,
                $"sum over {species} pastures of the latest census head in stock (to {request.To:yyyy-MM-dd}), else the registered capacity",
                [new("head_from_census", fromCensus, "head"), new("pastures_with_census", censused, "pastures"),
                 new("head_from_registered_capacity", fromCapacity, "head"), new("pastures_without_census", registered, "pastures")],
                "The registry has no per-animal records yet; pastures without a census count at capacity."));
        }

        var year = request.Date.Year;
        double yearKg = 0;
        foreach (var (d, totals) in await milk.GetAllDaysAsync(rollupKey))
        {
            yearKg += d.Year == year ? totals.CollectedKg : 0;
        }

        values.Add(Value("raw_milk.per_year", yearKg / 1000, $"sum of bulk-tank collections in {year} / 1000 (year to date)",
            [new("collected_kg", yearKg, "kg")]));
        values.Add(Value("pastures.new_large_cow", null, "registry count of large cow pastures built under the plan", [],
            "Not measurable: the registry records no construction date or 'new under the plan' marker."));
        values.Add(Value("pastures.goat_scale_farms", goatPastures, "registry count of goat pastures",
            [new("goat_pastures", goatPastures, "pastures")], "Counts every registered goat pasture; the registry has no scale threshold."));

        var smart = await connection.QueryAsync<(string Id, bool Quality, bool Manure)>(new CommandDefinition(
            """
            select p.id,
                   exists (select 1 from quality_result q where q.pasture_id = p.id and q.sampled_on between @from and @to),
                   exists (select 1 from manure_record m where m.pasture_id = p.id and m.local_date between @from and @to)
            from pasture p where @county::text is null or p.county_id = @county
            """, scope, cancellationToken: cancellationToken));
        var smartCount = smart.Count(s => s.Quality && s.Manure);
        values.Add(Value("pastures.smart_demo", smartCount, "pastures reporting quality and manure telemetry in the window",
            [new("pastures_reporting_quality", smart.Count(s => s.Quality), "pastures"), new("pastures_reporting_manure", smart.Count(s => s.Manure), "pastures")],
            "The platform has no tmr kind yet, so the TMR condition of the definition cannot be checked; counted on quality and manure only."));
        values.Add(Value("feed.forage_base", null, "registry of forage fields", [], "Not measurable: the platform has no field registry."));

        var manure = await connection.QuerySingleAsync<(double Produced, double Applied, double Treated)>(new CommandDefinition(
            """
            select coalesce(sum(produced_kg), 0), coalesce(sum(applied_kg), 0), coalesce(sum(treated_kg), 0)
            from manure_record where local_date between @from and @to and (@county::text is null or county_id = @county)
            """, scope, cancellationToken: cancellationToken));
        values.Add(Value("manure.utilisation_rate", Percent(manure.Applied + manure.Treated, manure.Produced),
            "(applied to fields + treated) / produced × 100 over the window",
            [new("produced_kg", manure.Produced, "kg"), new("applied_kg", manure.Applied, "kg"), new("treated_kg", manure.Treated, "kg")]));

        var health = (await connection.QueryAsync<(string Programme, long InStock, long Due, long Vaccinated, long Tested, long Protective)>(new CommandDefinition(
            """
            with latest as (
                select distinct on (pasture_id, programme) programme, in_stock, due from health_record
                where event = 'census' and local_date <= @to and (@county::text is null or county_id = @county)
                order by pasture_id, programme, local_date desc, event_time desc),
            window_records as (
                select programme, sum(vaccinated) as vaccinated, sum(tested) as tested, sum(protective) as protective from health_record
                where event in ('vaccination', 'antibody_test') and local_date between @from and @to and (@county::text is null or county_id = @county)
                group by programme),
            stock as (select programme, sum(in_stock) as in_stock, sum(due) as due from latest group by programme)
            select coalesce(s.programme, w.programme), coalesce(s.in_stock, 0)::bigint, coalesce(s.due, 0)::bigint,
                   coalesce(w.vaccinated, 0)::bigint, coalesce(w.tested, 0)::bigint, coalesce(w.protective, 0)::bigint
            from stock s full join window_records w on w.programme = s.programme order by 1
            """, scope, cancellationToken: cancellationToken))).AsList();
        foreach (var programme in options.Value.EffectiveProgrammes)
        {
            var h = health.Find(r => r.Programme == programme.Id);
            values.Add(Value("health.group_immunisation_density", Percent(h.Vaccinated, h.InStock),
                "head vaccinated in the window / head in stock (latest census) × 100",
                [new("vaccinated", h.Vaccinated, "head"), new("in_stock", h.InStock, "head")], programme: programme.Id));
            values.Add(Value("health.required_immunisation_density", Percent(h.Vaccinated, h.Due),
                "head vaccinated in the window / head due for vaccination (latest census: excludes too young, recently vaccinated, sick, late pregnancy) × 100",
                [new("vaccinated", h.Vaccinated, "head"), new("due", h.Due, "head")], programme: programme.Id));
            if (programme.ProtectiveTitre > 0)
            {
                values.Add(Value("health.antibody_pass_rate", Percent(h.Protective, h.Tested),
                    $"titre tests at or above 1:{programme.ProtectiveTitre} / titre tests × 100",
                    [new("protective", h.Protective, "samples"), new("tested", h.Tested, "samples"), new("protective_titre", programme.ProtectiveTitre, "1:x")],
                    programme: programme.Id));
            }
        }

        var supervisory = await audits.PassRatesAsync(new AuditQuery
        {
            Scope = new AuditScope(request.ScopeKind, request.ScopeId),
            From = request.From,
            To = request.To,
            SampleKind = SampleKinds.Supervisory,
        }, cancellationToken);
        values.Add(Value("quality.supervisory_pass_rate", supervisory.Overall.RatePercent,
            "supervisory samples passing their rule version / supervisory samples judged × 100",
            [new("passed", supervisory.Overall.Passed, "samples"), new("failed", supervisory.Overall.Failed, "samples")]));
        values.Add(Value("chain.output_value", null, "", [], "Out of scope for telemetry: shown as a target only."));
        return values;
    }

    private static double? Percent(double part, double whole) => whole > 0 ? part * 100.0 / whole : null;

    private static KpiValue Value(string key, double? actual, string formula, IReadOnlyList<KpiInput> inputs, string note = "", string? programme = null)
    {
        var target = Targets.Value[key];
        return new KpiValue
        {
            Key = key,
            Description = target.Description,
            Unit = target.Unit,
            Programme = programme,
            Actual = actual,
            Target2021 = target.T2021,
            Target2023 = target.T2023,
            Formula = formula,
            Inputs = inputs,
            Note = actual is null && note.Length == 0 ? "No data in the window." : note,
        };
    }

    private static Dictionary<string, (string, string, double?, double?)> LoadTargets()
    {
        using var stream = typeof(KpiCalculator).Assembly.GetManifestResourceStream("HohhotCluster.Telemetry.Audit.Kpi.plan-targets.json")
            ?? throw new InvalidOperationException("Kpi/plan-targets.json is missing from the assembly.");
        using var document = JsonDocument.Parse(stream);
        var targets = new Dictionary<string, (string, string, double?, double?)>(StringComparer.Ordinal);
        foreach (var t in document.RootElement.GetProperty("targets").EnumerateArray())
        {
            static double? Number(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Number ? e.GetProperty(name).GetDouble() : null;
            targets[t.GetProperty("key").GetString()!] =
                (t.GetProperty("description").GetString()!, t.GetProperty("unit").GetString()!, Number(t, "target2021"), Number(t, "target2023"));
        }

        return targets;
    }
}

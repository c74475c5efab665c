using Dapper;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Feeding;

/// <summary>The milk a pasture's herds gave on a local day, by herd id (the herds' grain totals).</summary>
public interface IHerdMilkSource
{
    Task<IReadOnlyDictionary<string, double>> MilkKgByHerdAsync(string pastureId, DateOnly localDate, CancellationToken cancellationToken);
}

/// <summary>Herd milk from the herds' committed grain state (<see cref="GrainTotalsReader"/>: milkings applied by <c>HerdGrain</c>).</summary>
public sealed class GrainHerdMilkSource(GrainTotalsReader totals) : IHerdMilkSource
{
    public async Task<IReadOnlyDictionary<string, double>> MilkKgByHerdAsync(string pastureId, DateOnly localDate, CancellationToken cancellationToken)
    {
        var byHerd = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var member in await totals.ReadMembersAsync("pasture:" + pastureId, cancellationToken))
        {
            if (member.MemberKey.StartsWith(GrainStateNames.Herd + ":", StringComparison.Ordinal) && member.Days.TryGetValue(localDate, out var day))
            {
                byHerd[member.MemberKey[(GrainStateNames.Herd.Length + 1)..]] = day.MilkedKg;
            }
        }

        return byHerd;
    }
}

/// <summary>One herd's (or, with an empty <see cref="HerdId"/>, the pasture's) feeding on one local day. Formulas: docs/audits.md, "Feeding".</summary>
public sealed record FeedingDay
{
    public required string PastureId { get; init; }
    public string HerdId { get; init; } = "";
    public required DateOnly Date { get; init; }
    public int Loads { get; init; }
    public double RecipeKg { get; init; }
    public double LoadedKg { get; init; }
    public double LoadedDryMatterKg { get; init; }

    /// <summary>100 - sum |loaded - recipe| / sum recipe x 100, over every ingredient of the day's loads; null without loads.</summary>
    public double? LoadingAccuracyPercent { get; init; }

    public int Deliveries { get; init; }
    public double DeliveredKg { get; init; }
    public double DeliveredDryMatterKg { get; init; }

    /// <summary>Deliveries whose load is not (yet) known: their kg as fed count, their dry matter cannot.</summary>
    public int DeliveriesWithoutLoad { get; init; }

    public int Refusals { get; init; }
    public double RefusedKg { get; init; }
    public double RefusedDryMatterKg { get; init; }

    /// <summary>Refused / delivered kg as fed x 100; null when no refusal was weighed (or nothing delivered).</summary>
    public double? RefusalsPercent { get; init; }

    /// <summary>Delivered dry matter less refused dry matter.</summary>
    public double IntakeDryMatterKg { get; init; }

    /// <summary>Cows in milk fed: per pen the largest head count its deliveries named, summed over pens.</summary>
    public int CowsInMilk { get; init; }

    public double? DryMatterIntakePerCowKg { get; init; }

    /// <summary>Milk of the herds fed (their grain totals for the day), kg.</summary>
    public double MilkKg { get; init; }

    /// <summary>Milk kg / intake dry matter kg; null without intake or milk.</summary>
    public double? FeedEfficiency { get; init; }

    /// <summary>Loaded kg x the feed's price, over the feeds with a price; null when none has one.</summary>
    public double? CostCny { get; init; }

    /// <summary>Loaded kg of feeds without a configured price (left out of <see cref="CostCny"/>).</summary>
    public double UnpricedKg { get; init; }

    public IReadOnlyList<string> RationsFed { get; init; } = [];
}

/// <summary>
/// Per herd and pasture per local (China) day, computed from the feeding tables when asked (they are small: a few
/// dozen messages per herd and day) and the herds' milk from their grains.
/// </summary>
public sealed class FeedingRollups(NpgsqlDataSource dataSource, IHerdMilkSource milk, IOptions<AuditOptions> options)
{
    public async Task<(FeedingDay Pasture, IReadOnlyList<FeedingDay> Herds)> DailyAsync(string pastureId, DateOnly date, string? herdId, CancellationToken cancellationToken)
    {
        var day = date.ToDateTime(TimeOnly.MinValue);
        var args = new { pasture = pastureId, day, herd = herdId };
        var (ingredients, deliveries, refusals, pens, rations) = await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var ingredients = (await connection.QueryAsync<(string Herd, string Feed, double Recipe, double Loaded, double AbsDeviation, double LoadedDm)>(
                new CommandDefinition(
                    """
                    select l.herd_id, i.feed_id, sum(i.recipe_kg), sum(i.loaded_kg), sum(abs(i.loaded_kg - i.recipe_kg)),
                        sum(i.loaded_kg * i.dry_matter_percent / 100)
                    from feed_load l join feed_load_ingredient i using (device_id, boot_epoch, seq)
                    where l.pasture_id = @pasture and l.local_date = @day and (@herd::text is null or l.herd_id = @herd)
                    group by l.herd_id, i.feed_id
                    """, args, cancellationToken: ct))).ToList();
            var deliveries = (await connection.QueryAsync<(string Herd, long Count, double Kg, double DmKg, long WithoutLoad, double KgWithLoad)>(
                new CommandDefinition(
                    """
                    select r.herd_id, count(*), sum(r.kg), coalesce(sum(r.kg * l.loaded_dm_kg / nullif(l.loaded_kg, 0)), 0),
                        count(*) filter (where l.load_id is null), coalesce(sum(r.kg) filter (where l.load_id is not null), 0)
                    from feed_pen_record r left join feed_load l on l.pasture_id = r.pasture_id and l.load_id = r.load_id
                    where r.pasture_id = @pasture and r.local_date = @day and r.event = 'delivery' and (@herd::text is null or r.herd_id = @herd)
                    group by r.herd_id
                    """, args, cancellationToken: ct))).ToList();
            var refusals = (await connection.QueryAsync<(string Herd, long Count, double Kg, double MeasuredDmKg, double UnmeasuredKg)>(
                new CommandDefinition(
                    """
                    select herd_id, count(*), sum(kg), coalesce(sum(kg * dry_matter_percent / 100), 0),
                        coalesce(sum(kg) filter (where dry_matter_percent is null), 0)
                    from feed_pen_record
                    where pasture_id = @pasture and local_date = @day and event = 'refusal' and (@herd::text is null or herd_id = @herd)
                    group by herd_id
                    """, args, cancellationToken: ct))).ToList();
            var pens = (await connection.QueryAsync<(string Herd, long Cows)>(new CommandDefinition(
                """
                select herd_id, sum(head) from (
                    select herd_id, pen, max(head_count) as head from feed_pen_record
                    where pasture_id = @pasture and local_date = @day and event = 'delivery' and (@herd::text is null or herd_id = @herd)
                    group by herd_id, pen) p
                group by herd_id
                """, args, cancellationToken: ct))).ToList();
            var rations = (await connection.QueryAsync<(string Herd, string Ration, long Loads)>(new CommandDefinition(
                """
                select herd_id, ration_id || ' v' || ration_version, count(*) from feed_load
                where pasture_id = @pasture and local_date = @day and (@herd::text is null or herd_id = @herd)
                group by 1, 2 order by 1, 2
                """, args, cancellationToken: ct))).ToList();
            return (ingredients, deliveries, refusals, pens, rations);
        }, cancellationToken);

        var milkByHerd = await milk.MilkKgByHerdAsync(pastureId, date, cancellationToken);
        var herds = new SortedSet<string>(StringComparer.Ordinal);
        herds.UnionWith(ingredients.Select(i => i.Herd));
        herds.UnionWith(deliveries.Select(d => d.Herd));
        herds.UnionWith(refusals.Select(r => r.Herd));
        var feeding = options.Value.Feeding;
        var rows = new List<FeedingDay>(herds.Count);
        foreach (var herd in herds)
        {
            var herdIngredients = ingredients.Where(i => i.Herd == herd).ToList();
            var delivered = deliveries.FirstOrDefault(d => d.Herd == herd);
            var refused = refusals.FirstOrDefault(r => r.Herd == herd);
            double? cost = null;
            double unpriced = 0;
            foreach (var ingredient in herdIngredients)
            {
                if (feeding.Find(ingredient.Feed)?.PricePerTonneCny is { } price)
                {
                    cost = (cost ?? 0) + ingredient.Loaded / 1000.0 * price;
                }
                else
                {
                    unpriced += ingredient.Loaded;
                }
            }

            // Refusals without their own dry matter are taken at the dry matter of the TMR delivered that day.
            var deliveredDmFraction = delivered.KgWithLoad > 0 ? delivered.DmKg / delivered.KgWithLoad : 0;
            var refusedDm = refused.MeasuredDmKg + refused.UnmeasuredKg * deliveredDmFraction;
            var recipe = herdIngredients.Sum(i => i.Recipe);
            rows.Add(Finish(new FeedingDay
            {
                PastureId = pastureId,
                HerdId = herd,
                Date = date,
                Loads = (int)rations.Where(r => r.Herd == herd).Sum(r => r.Loads),
                RecipeKg = recipe,
                LoadedKg = herdIngredients.Sum(i => i.Loaded),
                LoadedDryMatterKg = herdIngredients.Sum(i => i.LoadedDm),
                LoadingAccuracyPercent = recipe > 0 ? 100.0 - herdIngredients.Sum(i => i.AbsDeviation) / recipe * 100.0 : null,
                Deliveries = (int)delivered.Count,
                DeliveredKg = delivered.Kg,
                DeliveredDryMatterKg = delivered.DmKg,
                DeliveriesWithoutLoad = (int)delivered.WithoutLoad,
                Refusals = (int)refused.Count,
                RefusedKg = refused.Kg,
                RefusedDryMatterKg = refusedDm,
                CowsInMilk = (int)pens.FirstOrDefault(p => p.Herd == herd).Cows,
                MilkKg = milkByHerd.TryGetValue(herd, out var herdMilk) ? herdMilk : 0,
                CostCny = cost,
                UnpricedKg = unpriced,
                RationsFed = rations.Where(r => r.Herd == herd).Select(r => r.Ration).ToList(),
            }));
        }

        var total = Finish(new FeedingDay
        {
            PastureId = pastureId,
            Date = date,
            Loads = rows.Sum(r => r.Loads),
            RecipeKg = rows.Sum(r => r.RecipeKg),
            LoadedKg = rows.Sum(r => r.LoadedKg),
            LoadedDryMatterKg = rows.Sum(r => r.LoadedDryMatterKg),
            LoadingAccuracyPercent = rows.Sum(r => r.RecipeKg) is > 0 and var allRecipe
                ? 100.0 - rows.Sum(r => r.RecipeKg * (100.0 - (r.LoadingAccuracyPercent ?? 100.0)) / 100.0) / allRecipe * 100.0
                : null,
            Deliveries = rows.Sum(r => r.Deliveries),
            DeliveredKg = rows.Sum(r => r.DeliveredKg),
            DeliveredDryMatterKg = rows.Sum(r => r.DeliveredDryMatterKg),
            DeliveriesWithoutLoad = rows.Sum(r => r.DeliveriesWithoutLoad),
            Refusals = rows.Sum(r => r.Refusals),
            RefusedKg = rows.Sum(r => r.RefusedKg),
            RefusedDryMatterKg = rows.Sum(r => r.RefusedDryMatterKg),
            CowsInMilk = rows.Sum(r => r.CowsInMilk),
            MilkKg = rows.Sum(r => r.MilkKg),
            CostCny = rows.Any(r => r.CostCny is not null) ? rows.Sum(r => r.CostCny ?? 0) : null,
            UnpricedKg = rows.Sum(r => r.UnpricedKg),
            RationsFed = rows.SelectMany(r => r.RationsFed).Distinct().Order(StringComparer.Ordinal).ToList(),
        });
        return (total, rows);
    }

    /// <summary>The derived figures, the same for a herd and a pasture.</summary>
    private static FeedingDay Finish(FeedingDay day)
    {
        var intake = Math.Max(0, day.DeliveredDryMatterKg - day.RefusedDryMatterKg);
        return day with
        {
            RefusalsPercent = day.Refusals > 0 ? FeedingAlertRules.RefusalsPercent(day.DeliveredKg, day.RefusedKg) : null,
            IntakeDryMatterKg = intake,
            DryMatterIntakePerCowKg = day.CowsInMilk > 0 && intake > 0 ? intake / day.CowsInMilk : null,
            FeedEfficiency = intake > 0 && day.MilkKg > 0 ? day.MilkKg / intake : null,
        };
    }

    /// <summary>The pasture's stores as their newest messages have them, with each feed's days of use.</summary>
    public async Task<IReadOnlyList<(StockRow Stock, double DailyUseKg, double? DaysOfUse)>> StocksAsync(string pastureId, DateOnly asOf, CancellationToken cancellationToken)
    {
        var window = options.Value.Feeding.StockUsageWindowDays;
        return await PostgresRetry.RunAsync<IReadOnlyList<(StockRow, double, double?)>>(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var stores = (await connection.QueryAsync<StockRow>(new CommandDefinition(FeedingStore.CurrentStockSql, new { pasture = pastureId }, cancellationToken: ct))).ToList();
            var result = new List<(StockRow, double, double?)>(stores.Count);
            var useByFeed = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var feed in stores.Select(s => s.FeedId).Distinct())
            {
                useByFeed[feed] = await connection.ExecuteScalarAsync<double>(new CommandDefinition(FeedingStore.DailyUseSql,
                    new { pasture = pastureId, feed, from = asOf.AddDays(1 - window).ToDateTime(TimeOnly.MinValue), to = asOf.ToDateTime(TimeOnly.MinValue) },
                    cancellationToken: ct));
            }

            foreach (var store in stores)
            {
                var feedStock = stores.Where(s => s.FeedId == store.FeedId).Sum(s => s.QuantityKg);
                var use = useByFeed[store.FeedId];
                result.Add((store, use, FeedingAlertRules.DaysOfUse(feedStock, use)));
            }

            return result;
        }, cancellationToken);
    }
}

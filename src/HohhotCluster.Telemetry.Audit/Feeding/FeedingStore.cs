using System.Globalization;
using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Feeding;

/// <summary>A feeding record with its key and where it comes from: what the store needs of an accepted message.</summary>
public sealed record FeedingMessage<TRecord>(ReadingKey Key, DateTimeOffset EventTime, string PastureId, string CountyId, TRecord Record)
    where TRecord : class;

/// <summary>
/// The one owner of the feeding tables (migration 0220): writes each <c>tmr</c> and <c>feed_stock</c> message once per
/// (device, epoch, seq) and, in the same transaction, judges the feeding alerts the batch may have changed: loading
/// deviation (the newest load of each mixer and feed), ration mismatch (each herd's newest load against the ration it
/// is on), refusals out of band (each herd's newest day with refusals) and stock below N days of use (each pasture's
/// feed a stock message named). Duplicates are judged again too: the retry of a batch whose alert step was lost must
/// still raise it, and judging the newest record is the same answer every time.
/// </summary>
public sealed class FeedingStore(NpgsqlDataSource dataSource, AlertStore alerts, IOptions<AuditOptions> options, TimeProvider clock)
{
    private FeedingOptions Feeding => options.Value.Feeding;

    public async Task<ApplyOutcome[]> AddTmrAsync(IReadOnlyList<FeedingMessage<TmrRecord>> messages, CancellationToken cancellationToken)
    {
        var outcomes = new ApplyOutcome[messages.Count];
        var mixerFeeds = new HashSet<(string Device, string Pasture, string County, string Feed)>();
        var rationHerds = new HashSet<(string Herd, string Pasture, string County)>();
        var refusalHerds = new HashSet<(string Herd, string Pasture, string County)>();
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        for (var i = 0; i < messages.Count; i++)
        {
            var (key, eventTime, pasture, county, r) = messages[i];
            var at = eventTime.UtcDateTime;
            var localDate = r.LocalDate.ToDateTime(TimeOnly.MinValue);
            int inserted;
            switch (r.Event)
            {
                case TmrEvent.Ration:
                    inserted = await connection.ExecuteAsync(new CommandDefinition(
                        """
                        insert into feed_ration (device_id, boot_epoch, seq, pasture_id, county_id, event_time, ration_id, ration_version, name, herd_ids, feeds)
                        values (@DeviceId, @BootEpoch, @Seq, @pasture, @county, @at, @RationId, @RationVersion, @RationName, @HerdIds, @Feeds::jsonb)
                        on conflict do nothing
                        """,
                        new
                        {
                            key.DeviceId, key.BootEpoch, Seq = key.Sequence, pasture, county, at, r.RationId, r.RationVersion, r.RationName,
                            HerdIds = r.HerdIds.ToArray(), Feeds = JsonSerializer.Serialize(r.Feeds),
                        }, transaction, cancellationToken: cancellationToken));
                    foreach (var herd in r.HerdIds)
                    {
                        rationHerds.Add((herd, pasture, county));
                    }

                    break;
                case TmrEvent.Load:
                    inserted = await connection.ExecuteAsync(new CommandDefinition(
                        """
                        insert into feed_load (device_id, boot_epoch, seq, pasture_id, county_id, herd_id, local_date, event_time, load_id,
                            ration_id, ration_version, recipe_kg, loaded_kg, loaded_dm_kg)
                        values (@DeviceId, @BootEpoch, @Seq, @pasture, @county, @HerdId, @localDate, @at, @LoadId, @RationId, @RationVersion,
                            @recipe, @loaded, @loadedDm)
                        on conflict (device_id, boot_epoch, seq) do nothing
                        """,
                        new
                        {
                            key.DeviceId, key.BootEpoch, Seq = key.Sequence, pasture, county, r.HerdId, localDate, at, r.LoadId, r.RationId, r.RationVersion,
                            recipe = r.Ingredients.Sum(x => x.RecipeKg), loaded = r.Ingredients.Sum(x => x.LoadedKg),
                            loadedDm = r.Ingredients.Sum(x => x.LoadedDryMatterKg),
                        }, transaction, cancellationToken: cancellationToken));
                    if (inserted == 1)
                    {
                        for (var position = 0; position < r.Ingredients.Count; position++)
                        {
                            var ingredient = r.Ingredients[position];
                            await connection.ExecuteAsync(new CommandDefinition(
                                """
                                insert into feed_load_ingredient (device_id, boot_epoch, seq, position, pasture_id, county_id, local_date, feed_id,
                                    category, recipe_kg, loaded_kg, dry_matter_percent, origin)
                                values (@DeviceId, @BootEpoch, @Seq, @position, @pasture, @county, @localDate, @FeedId, @category, @RecipeKg,
                                    @LoadedKg, @DryMatterPercent, @origin)
                                """,
                                new
                                {
                                    key.DeviceId, key.BootEpoch, Seq = key.Sequence, position, pasture, county, localDate, ingredient.FeedId,
                                    category = FeedCategories.Name(Feeding.Find(ingredient.FeedId)?.Category ?? FeedCategory.Other),
                                    ingredient.RecipeKg, ingredient.LoadedKg, ingredient.DryMatterPercent,
                                    origin = ingredient.Origin is { } o ? FeedOrigins.Name(o) : null,
                                }, transaction, cancellationToken: cancellationToken));
                        }
                    }

                    foreach (var ingredient in r.Ingredients)
                    {
                        mixerFeeds.Add((key.DeviceId, pasture, county, ingredient.FeedId));
                    }

                    rationHerds.Add((r.HerdId!, pasture, county));
                    break;
                default:
                    inserted = await connection.ExecuteAsync(new CommandDefinition(
                        """
                        insert into feed_pen_record (device_id, boot_epoch, seq, event, pasture_id, county_id, herd_id, pen, local_date, event_time,
                            ration_id, load_id, kg, head_count, dry_matter_percent)
                        values (@DeviceId, @BootEpoch, @Seq, @kind, @pasture, @county, @HerdId, @Pen, @localDate, @at, @RationId, @LoadId, @Kg,
                            @headCount, @DryMatterPercent)
                        on conflict do nothing
                        """,
                        new
                        {
                            key.DeviceId, key.BootEpoch, Seq = key.Sequence, kind = TmrEvents.Name(r.Event), pasture, county, r.HerdId, r.Pen,
                            localDate, at, r.RationId, r.LoadId, r.Kg, headCount = r.Event == TmrEvent.Delivery ? r.HeadCount : (int?)null,
                            r.DryMatterPercent,
                        }, transaction, cancellationToken: cancellationToken));
                    refusalHerds.Add((r.HerdId!, pasture, county));
                    break;
            }

            outcomes[i] = inserted == 1 ? ApplyOutcome.Applied : ApplyOutcome.Duplicate;
        }

        var now = clock.GetUtcNow();
        foreach (var touched in mixerFeeds)
        {
            await JudgeLoadingAsync(connection, transaction, touched, now, cancellationToken);
        }

        foreach (var touched in rationHerds)
        {
            await JudgeRationAsync(connection, transaction, touched, now, cancellationToken);
        }

        foreach (var touched in refusalHerds)
        {
            await JudgeRefusalsAsync(connection, transaction, touched, now, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return outcomes;
    }

    public async Task<ApplyOutcome[]> AddStockAsync(IReadOnlyList<FeedingMessage<FeedStockRecord>> messages, CancellationToken cancellationToken)
    {
        var outcomes = new ApplyOutcome[messages.Count];
        var touched = new Dictionary<(string Pasture, string Feed), (string County, DateOnly Day)>();
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        for (var i = 0; i < messages.Count; i++)
        {
            var (key, eventTime, pasture, county, s) = messages[i];
            var inserted = await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into feed_stock (device_id, boot_epoch, seq, pasture_id, county_id, local_date, event_time, storage_id, storage_name,
                    storage_type, feed_id, quantity_kg, capacity_kg, dry_matter_percent, origin)
                values (@DeviceId, @BootEpoch, @Seq, @pasture, @county, @localDate, @at, @StorageId, @StorageName, @StorageType, @FeedId,
                    @QuantityKg, @CapacityKg, @DryMatterPercent, @origin)
                on conflict do nothing
                """,
                new
                {
                    key.DeviceId, key.BootEpoch, Seq = key.Sequence, pasture, county, localDate = s.LocalDate.ToDateTime(TimeOnly.MinValue),
                    at = eventTime.UtcDateTime, s.StorageId, s.StorageName, s.StorageType, s.FeedId, s.QuantityKg, s.CapacityKg,
                    s.DryMatterPercent, origin = s.Origin is { } o ? FeedOrigins.Name(o) : null,
                }, transaction, cancellationToken: cancellationToken));
            outcomes[i] = inserted == 1 ? ApplyOutcome.Applied : ApplyOutcome.Duplicate;
            if (!touched.TryGetValue((pasture, s.FeedId), out var known) || known.Day < s.LocalDate)
            {
                touched[(pasture, s.FeedId)] = (county, s.LocalDate);
            }
        }

        var now = clock.GetUtcNow();
        foreach (var ((pasture, feed), (county, day)) in touched)
        {
            await JudgeStockAsync(connection, transaction, pasture, county, feed, day, now, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return outcomes;
    }

    /// <summary>Stock held now per pasture and feed: the newest message of each store, summed over the stores holding the feed.</summary>
    internal const string CurrentStockSql =
        """
        with newest as (
            select distinct on (storage_id) storage_id, storage_name, storage_type, feed_id, quantity_kg, capacity_kg, dry_matter_percent,
                origin, event_time
            from feed_stock where pasture_id = @pasture
            order by storage_id, event_time desc, boot_epoch desc, seq desc)
        select storage_id as StorageId, storage_name as StorageName, storage_type as StorageType, feed_id as FeedId,
            quantity_kg as QuantityKg, capacity_kg as CapacityKg, dry_matter_percent as DryMatterPercent, origin as Origin,
            event_time as EventTime
        from newest order by feed_id, storage_id
        """;

    /// <summary>A feed's daily use on a pasture: kg loaded over the trailing window / the window's days with any load.</summary>
    internal const string DailyUseSql =
        """
        select coalesce((select sum(loaded_kg) from feed_load_ingredient
                         where pasture_id = @pasture and feed_id = @feed and local_date between @from and @to), 0)
             / greatest(1, (select count(distinct local_date) from feed_load where pasture_id = @pasture and local_date between @from and @to))
        """;

    private async Task JudgeStockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string pasture, string county, string feed,
        DateOnly day, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var stores = (await connection.QueryAsync<StockRow>(new CommandDefinition(CurrentStockSql, new { pasture }, transaction,
            cancellationToken: cancellationToken))).Where(s => s.FeedId == feed).ToList();
        var stockKg = stores.Sum(s => s.QuantityKg);
        var window = Feeding.StockUsageWindowDays;
        var from = day.AddDays(1 - window).ToDateTime(TimeOnly.MinValue);
        var use = await connection.ExecuteScalarAsync<double>(new CommandDefinition(DailyUseSql,
            new { pasture, feed, from, to = day.ToDateTime(TimeOnly.MinValue) }, transaction, cancellationToken: cancellationToken));
        var key = $"{AlertKinds.FeedStockLow}:{pasture}:{feed}";
        var daysOfUse = FeedingAlertRules.DaysOfUse(stockKg, use);
        if (!FeedingAlertRules.StockLow(stockKg, use, Feeding))
        {
            await alerts.ClearAsync(connection, transaction, [key],
                daysOfUse is { } d ? $"{Format(d)} days of use in stock" : "the feed is not being used", now, cancellationToken);
            return;
        }

        await alerts.RaiseAsync(connection, transaction, new AlertDraft
        {
            Key = key,
            Kind = AlertKinds.FeedStockLow,
            Severity = "warning",
            Subject = "pasture:" + pasture,
            PastureId = pasture,
            CountyId = county,
            Message = $"Pasture {pasture} holds {Format(stockKg / 1000)} t of {feed}, {Format(daysOfUse!.Value)} days at its use of "
                + $"{Format(use / 1000)} t/day over the {window} days to {day:yyyy-MM-dd} (minimum {Feeding.StockMinDays} days)",
            Since = ChinaTime.StartOfDay(day),
            Readings =
            [
                new AlertReading { At = ChinaTime.StartOfDay(day), Name = "stock_kg", Value = stockKg, Unit = "kg", Source = string.Join(", ", stores.Select(s => s.StorageId)) },
                new AlertReading { At = ChinaTime.StartOfDay(day), Name = "daily_use_kg", Value = use, Unit = "kg", Source = $"loads over {window} days" },
                new AlertReading { At = ChinaTime.StartOfDay(day), Name = "days_of_use", Value = daysOfUse, Unit = "d", Limit = ">= " + Feeding.StockMinDays.ToString(CultureInfo.InvariantCulture) },
            ],
        }, now, cancellationToken);
    }

    private async Task JudgeLoadingAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        (string Device, string Pasture, string County, string Feed) touched, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var newest = await connection.QuerySingleOrDefaultAsync<(double RecipeKg, double LoadedKg, string LoadId, string HerdId, DateTime EventTime, long Seq)?>(
            new CommandDefinition(
                """
                select i.recipe_kg, i.loaded_kg, l.load_id, l.herd_id, l.event_time, l.seq
                from feed_load_ingredient i join feed_load l using (device_id, boot_epoch, seq)
                where l.device_id = @Device and i.feed_id = @Feed
                order by l.event_time desc, l.boot_epoch desc, l.seq desc limit 1
                """, new { touched.Device, touched.Feed }, transaction, cancellationToken: cancellationToken));
        if (newest is not { } load)
        {
            return;
        }

        var key = $"{AlertKinds.FeedLoadingDeviation}:{touched.Device}:{touched.Feed}";
        var deviation = FeedingAlertRules.LoadingDeviationPercent(load.RecipeKg, load.LoadedKg);
        var limit = Feeding.LoadingDeviationPercent;
        if (!FeedingAlertRules.LoadingDeviates(load.RecipeKg, load.LoadedKg, Feeding))
        {
            await alerts.ClearAsync(connection, transaction, [key], $"load {load.LoadId}: {touched.Feed} within {Format(deviation)} % of its recipe", now, cancellationToken);
            return;
        }

        var at = new DateTimeOffset(DateTime.SpecifyKind(load.EventTime, DateTimeKind.Utc));
        await alerts.RaiseAsync(connection, transaction, new AlertDraft
        {
            Key = key,
            Kind = AlertKinds.FeedLoadingDeviation,
            Severity = "warning",
            Subject = "device:" + touched.Device,
            PastureId = touched.Pasture,
            CountyId = touched.County,
            Message = $"Mixer {touched.Device} loaded {Format(load.LoadedKg)} kg of {touched.Feed} for {Format(load.RecipeKg)} kg in the recipe "
                + $"(load {load.LoadId}, herd {load.HerdId}): {Format(deviation)} % (limit +-{Format(limit)} %)",
            Since = at,
            Readings =
            [
                new AlertReading { At = at, Name = "recipe_kg", Value = load.RecipeKg, Unit = "kg", Source = $"load {load.LoadId} seq {load.Seq}" },
                new AlertReading { At = at, Name = "loaded_kg", Value = load.LoadedKg, Unit = "kg", Source = $"load {load.LoadId} seq {load.Seq}" },
                new AlertReading { At = at, Name = "deviation", Value = deviation, Unit = "%", Limit = "+-" + Format(limit) },
            ],
        }, now, cancellationToken);
    }

    private async Task JudgeRationAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        (string Herd, string Pasture, string County) touched, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var load = await connection.QuerySingleOrDefaultAsync<(string LoadId, string RationId, int RationVersion, DateTime EventTime)?>(
            new CommandDefinition(
                """
                select load_id, ration_id, ration_version, event_time from feed_load where herd_id = @Herd and pasture_id = @Pasture
                order by event_time desc, boot_epoch desc, seq desc limit 1
                """, new { touched.Herd, touched.Pasture }, transaction, cancellationToken: cancellationToken));
        if (load is not { } fed)
        {
            return;
        }

        var current = await connection.QuerySingleOrDefaultAsync<(string RationId, int RationVersion)?>(new CommandDefinition(
            """
            select ration_id, ration_version from feed_ration
            where pasture_id = @Pasture and @Herd = any(herd_ids) and event_time <= @at
            order by event_time desc, boot_epoch desc, seq desc limit 1
            """, new { touched.Herd, touched.Pasture, at = fed.EventTime }, transaction, cancellationToken: cancellationToken));
        var key = $"{AlertKinds.FeedRationMismatch}:{touched.Herd}";
        if (current is not { } ration)
        {
            // No ration announced for the herd before this load: nothing to compare it with (docs/audits.md).
            return;
        }

        if (ration.RationId == fed.RationId && ration.RationVersion == fed.RationVersion)
        {
            await alerts.ClearAsync(connection, transaction, [key], $"load {fed.LoadId} is of the herd's ration {ration.RationId} v{ration.RationVersion}", now, cancellationToken);
            return;
        }

        var at = new DateTimeOffset(DateTime.SpecifyKind(fed.EventTime, DateTimeKind.Utc));
        await alerts.RaiseAsync(connection, transaction, new AlertDraft
        {
            Key = key,
            Kind = AlertKinds.FeedRationMismatch,
            Severity = "warning",
            Subject = "herd:" + touched.Herd,
            PastureId = touched.Pasture,
            CountyId = touched.County,
            Message = $"Herd {touched.Herd} was fed ration {fed.RationId} v{fed.RationVersion} (load {fed.LoadId}); its current ration is {ration.RationId} v{ration.RationVersion}",
            Since = at,
            Readings =
            [
                new AlertReading { At = at, Name = "ration_fed", Text = $"{fed.RationId} v{fed.RationVersion}", Source = "load " + fed.LoadId },
                new AlertReading { At = at, Name = "current_ration", Text = $"{ration.RationId} v{ration.RationVersion}", Source = "ration message" },
            ],
        }, now, cancellationToken);
    }

    private async Task JudgeRefusalsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        (string Herd, string Pasture, string County) touched, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // A day is judged once its refusals are weighed: before that, a herd that was given feed has "0 %" refusals.
        var day = await connection.QuerySingleOrDefaultAsync<(DateTime Day, double Delivered, double Refused)?>(new CommandDefinition(
            """
            with d as (select max(local_date) as day from feed_pen_record where herd_id = @Herd and pasture_id = @Pasture and event = 'refusal')
            select d.day,
                coalesce(sum(r.kg) filter (where r.event = 'delivery'), 0),
                coalesce(sum(r.kg) filter (where r.event = 'refusal'), 0)
            from d join feed_pen_record r on r.herd_id = @Herd and r.pasture_id = @Pasture and r.local_date = d.day
            group by d.day
            """, new { touched.Herd, touched.Pasture }, transaction, cancellationToken: cancellationToken));
        if (day is not { } judged || FeedingAlertRules.RefusalsPercent(judged.Delivered, judged.Refused) is not { } percent)
        {
            return;
        }

        var key = $"{AlertKinds.FeedRefusals}:{touched.Herd}";
        var band = $"{Format(Feeding.RefusalsMinPercent)}-{Format(Feeding.RefusalsMaxPercent)} %";
        var localDay = DateOnly.FromDateTime(judged.Day);
        if (!FeedingAlertRules.RefusalsOutOfBand(percent, Feeding))
        {
            await alerts.ClearAsync(connection, transaction, [key], $"refusals {Format(percent)} % on {localDay:yyyy-MM-dd}, within {band}", now, cancellationToken);
            return;
        }

        await alerts.RaiseAsync(connection, transaction, new AlertDraft
        {
            Key = key,
            Kind = AlertKinds.FeedRefusals,
            Severity = "warning",
            Subject = "herd:" + touched.Herd,
            PastureId = touched.Pasture,
            CountyId = touched.County,
            Message = $"Herd {touched.Herd} left {Format(percent)} % of the {Format(judged.Delivered)} kg delivered on {localDay:yyyy-MM-dd} (band {band})",
            Since = ChinaTime.StartOfDay(localDay),
            Readings =
            [
                new AlertReading { At = ChinaTime.StartOfDay(localDay), Name = "delivered_kg", Value = judged.Delivered, Unit = "kg" },
                new AlertReading { At = ChinaTime.StartOfDay(localDay), Name = "refused_kg", Value = judged.Refused, Unit = "kg" },
                new AlertReading { At = ChinaTime.StartOfDay(localDay), Name = "refusals", Value = percent, Unit = "%", Limit = band },
            ],
        }, now, cancellationToken);
    }

    private static string Format(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);
}

/// <summary>A store's newest stock message.</summary>
public sealed record StockRow
{
    public string StorageId { get; init; } = "";
    public string? StorageName { get; init; }
    public string StorageType { get; init; } = "";
    public string FeedId { get; init; } = "";
    public double QuantityKg { get; init; }
    public double? CapacityKg { get; init; }
    public double? DryMatterPercent { get; init; }
    public string? Origin { get; init; }
    public DateTime EventTime { get; init; }
}

using System.Globalization;
using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Farm;

/// <summary>
/// <c>manure_record</c> and <c>health_record</c>, written once per (device, epoch, seq). After a manure record the
/// pasture's utilisation over the trailing window is recomputed and its alert raised or cleared in the same transaction.
/// </summary>
public sealed class FarmRecordStore(NpgsqlDataSource dataSource, AlertStore alerts, IOptions<AuditOptions> options, TimeProvider clock)
{
    public async Task<ApplyOutcome[]> AddManureAsync(IReadOnlyList<Accepted<ManureRecord>> records, CancellationToken cancellationToken)
    {
        var outcomes = new ApplyOutcome[records.Count];
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var touched = new Dictionary<string, (string County, DateOnly Day)>(StringComparer.Ordinal);
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            var m = record.Record;
            var inserted = await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into manure_record (device_id, boot_epoch, seq, pasture_id, county_id, local_date, event_time,
                    produced_kg, collected_kg, applied_kg, treated_kg, treatment)
                values (@DeviceId, @BootEpoch, @Seq, @PastureId, @CountyId, @LocalDate, @EventTime, @ProducedKg, @CollectedKg, @AppliedKg, @TreatedKg, @Treatment)
                on conflict do nothing
                """,
                new
                {
                    record.Key.DeviceId, record.Key.BootEpoch, Seq = record.Key.Sequence, PastureId = record.Device.OwnerId,
                    record.Device.CountyId, LocalDate = m.LocalDate.ToDateTime(TimeOnly.MinValue), EventTime = record.EventTime.UtcDateTime,
                    m.ProducedKg, m.CollectedKg, m.AppliedKg, m.TreatedKg, m.Treatment,
                }, transaction, cancellationToken: cancellationToken));
            outcomes[i] = inserted == 1 ? ApplyOutcome.Applied : ApplyOutcome.Duplicate;
            if (!touched.TryGetValue(record.Device.OwnerId, out var known) || known.Day < m.LocalDate)
            {
                touched[record.Device.OwnerId] = (record.Device.CountyId, m.LocalDate);
            }
        }

        // Also for duplicates: the retry of a batch whose alert step was lost must still raise it.
        foreach (var (pastureId, (county, day)) in touched)
        {
            await EvaluateManureAlertAsync(connection, transaction, pastureId, county, day, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return outcomes;
    }

    private async Task EvaluateManureAlertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string pastureId, string countyId, DateOnly day, CancellationToken cancellationToken)
    {
        var window = options.Value.KpiWindowDays;
        var from = day.AddDays(1 - window);
        var totals = await connection.QuerySingleAsync<(double Produced, double Used, long Days)>(new CommandDefinition(
            """
            select coalesce(sum(produced_kg), 0), coalesce(sum(applied_kg + treated_kg), 0), count(distinct local_date)
            from manure_record where pasture_id = @pastureId and local_date between @from and @to
            """, new { pastureId, from = from.ToDateTime(TimeOnly.MinValue), to = day.ToDateTime(TimeOnly.MinValue) }, transaction,
            cancellationToken: cancellationToken));
        var key = AlertKinds.ManureUtilisation + ":" + pastureId;
        var now = clock.GetUtcNow();
        if (totals.Produced <= 0)
        {
            return;
        }

        var rate = totals.Used / totals.Produced * 100.0;
        var minimum = options.Value.Alerts.ManureMinUtilisationPercent;
        if (rate >= minimum)
        {
            await alerts.ClearAsync(connection, transaction, [key], $"utilisation {rate.ToString("F1", CultureInfo.InvariantCulture)} % over {window} days", now, cancellationToken);
            return;
        }

        var firstDay = await connection.ExecuteScalarAsync<DateOnly>(new CommandDefinition(
            "select min(local_date) from manure_record where pasture_id = @pastureId and local_date between @from and @to",
            new { pastureId, from = from.ToDateTime(TimeOnly.MinValue), to = day.ToDateTime(TimeOnly.MinValue) }, transaction, cancellationToken: cancellationToken));
        await alerts.RaiseAsync(connection, transaction, new AlertDraft
        {
            Key = key,
            Kind = AlertKinds.ManureUtilisation,
            Severity = "warning",
            Subject = "pasture:" + pastureId,
            PastureId = pastureId,
            CountyId = countyId,
            Message = $"Pasture {pastureId} put {rate.ToString("F1", CultureInfo.InvariantCulture)} % of its manure to approved uses over the {window} days to {day:yyyy-MM-dd} (minimum {minimum.ToString(CultureInfo.InvariantCulture)} %)",
            Since = ChinaTime.StartOfDay(firstDay),
            Readings =
            [
                new AlertReading { At = ChinaTime.StartOfDay(day), Name = "produced_kg", Value = totals.Produced, Unit = "kg", Source = $"{totals.Days} daily records" },
                new AlertReading { At = ChinaTime.StartOfDay(day), Name = "applied_plus_treated_kg", Value = totals.Used, Unit = "kg", Source = $"{totals.Days} daily records" },
                new AlertReading { At = ChinaTime.StartOfDay(day), Name = "utilisation", Value = rate, Unit = "%", Limit = ">= " + minimum.ToString(CultureInfo.InvariantCulture) },
            ],
        }, now, cancellationToken);
    }

    public async Task<ApplyOutcome[]> AddHealthAsync(IReadOnlyList<(Accepted<HealthRecord> Record, HealthRecord Health, string Species, int Protective)> rows, CancellationToken cancellationToken)
    {
        var outcomes = new ApplyOutcome[rows.Count];
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        for (var i = 0; i < rows.Count; i++)
        {
            var (record, h, species, protective) = rows[i];
            var inserted = await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into health_record (device_id, boot_epoch, seq, pasture_id, county_id, local_date, event_time, event, programme, species,
                    vaccinated, in_stock, due, tested, protective, titres)
                values (@DeviceId, @BootEpoch, @Seq, @PastureId, @CountyId, @LocalDate, @EventTime, @Event, @Programme, @Species,
                    @Vaccinated, @InStock, @Due, @Tested, @Protective, @Titres::jsonb)
                on conflict do nothing
                """,
                new
                {
                    record.Key.DeviceId, record.Key.BootEpoch, Seq = record.Key.Sequence, PastureId = record.Device.OwnerId,
                    record.Device.CountyId, LocalDate = h.LocalDate.ToDateTime(TimeOnly.MinValue), EventTime = record.EventTime.UtcDateTime,
                    h.Event, h.Programme, Species = species, h.Vaccinated, h.InStock, h.Due, Tested = h.Titres.Count, Protective = protective,
                    Titres = h.Titres.Count == 0 ? null : JsonSerializer.Serialize(h.Titres),
                }, transaction, cancellationToken: cancellationToken));
            outcomes[i] = inserted == 1 ? ApplyOutcome.Applied : ApplyOutcome.Duplicate;
        }

        await transaction.CommitAsync(cancellationToken);
        return outcomes;
    }
}

using System.Globalization;
using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Audit.Rules;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Quality;

/// <summary>A sample with where it came from, ready to be judged and stored.</summary>
public sealed record QualityResult
{
    public required QualitySample Sample { get; init; }
    public required ReadingKey Key { get; init; }
    public string? PastureId { get; init; }
    public string? PlantId { get; init; }
    public string? CountyId { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
}

/// <summary>What an explicit re-judgement did.</summary>
public sealed record RejudgeSummary(int Examined, int Changed, int VerdictsChanged, IReadOnlyList<string> ChangedSampleIds);

/// <summary>
/// <c>quality_result</c>: judged samples, written once per sample id and per (device, epoch, seq). A failing sample
/// raises the lot's quality alert in the same transaction; a later passing sample of the same lot (a re-test) clears it.
/// </summary>
public sealed class QualityStore(NpgsqlDataSource dataSource, RuleTableStore rules, AlertStore alerts, AuditMetrics metrics, TimeProvider clock)
{
    public static readonly JsonSerializerOptions ItemJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public async Task<ApplyOutcome[]> AddAsync(IReadOnlyList<QualityResult> results, CancellationToken cancellationToken)
    {
        var book = await rules.GetAsync(cancellationToken);
        var outcomes = new ApplyOutcome[results.Count];
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var judgedCount = 0;
        var failed = 0;
        for (var i = 0; i < results.Count; i++)
        {
            var result = results[i];
            var sample = result.Sample;
            var species = sample.Species ?? "cow";
            var judged = QualityJudge.JudgeSample(book, sample.LotKind, sample.ProductCategory, species, ChinaTime.LocalDate(sample.SampledAt), sample.Items);
            var inserted = await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into quality_result (sample_id, lot_kind, lot_id, sample_kind, sampled_at, sampled_on, species, verdict,
                    rule_version, items, pasture_id, plant_id, county_id, tanker_plate, lab, device_id, boot_epoch, seq, received_at, judged_at,
                    product_category, verdict_reason, confirms)
                values (@SampleId, @LotKind, @LotId, @SampleKind, @SampledAt, @SampledOn, @Species, @Verdict, @RuleVersion,
                    @Items::jsonb, @PastureId, @PlantId, @CountyId, @TankerPlate, @Lab, @DeviceId, @BootEpoch, @Seq, @ReceivedAt, @JudgedAt,
                    @ProductCategory, @Reason, @Confirms)
                on conflict do nothing
                """,
                new
                {
                    sample.SampleId, sample.LotKind, sample.LotId, sample.SampleKind,
                    SampledAt = sample.SampledAt.UtcDateTime,
                    SampledOn = ChinaTime.LocalDate(sample.SampledAt).ToDateTime(TimeOnly.MinValue),
                    Species = species, judged.Verdict, judged.RuleVersion,
                    Items = JsonSerializer.Serialize(judged.Items, ItemJson),
                    result.PastureId, result.PlantId, result.CountyId, sample.TankerPlate, sample.Lab,
                    result.Key.DeviceId, result.Key.BootEpoch, Seq = result.Key.Sequence,
                    ReceivedAt = result.ReceivedAt.UtcDateTime, JudgedAt = now.UtcDateTime,
                    sample.ProductCategory, judged.Reason, sample.Confirms,
                }, transaction, cancellationToken: cancellationToken));
            outcomes[i] = inserted == 1 ? ApplyOutcome.Applied : ApplyOutcome.Duplicate;
            if (inserted == 1)
            {
                judgedCount++;
                failed += judged.Verdict == QualityJudge.Fail ? 1 : 0;
                await ApplyAlertAsync(connection, transaction, result, judged, now, cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        metrics.RecordJudged(judgedCount, failed);
        return outcomes;
    }

    private Task ApplyAlertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, QualityResult result, JudgedSample judged, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var sample = result.Sample;
        var key = AlertKinds.QualityFailure + ":" + sample.LotKind + ":" + sample.LotId;
        if (judged.Verdict is not (QualityJudge.Fail or QualityJudge.Suspect))
        {
            return judged.Verdict == QualityJudge.Pass
                ? alerts.ClearAsync(connection, transaction, [key], $"sample {sample.SampleId} of the lot passed", now, cancellationToken)
                : Task.CompletedTask;
        }

        // A suspect (a positive rapid screen) holds the lot as a warning until a confirmatory sample decides.
        var suspect = judged.Verdict == QualityJudge.Suspect;
        var failing = judged.Items.Where(i => i.Verdict == judged.Verdict).ToList();
        return alerts.RaiseAsync(connection, transaction, new AlertDraft
        {
            Key = key,
            Kind = AlertKinds.QualityFailure,
            Severity = suspect ? "warning" : "critical",
            Subject = sample.LotKind + ":" + sample.LotId,
            PastureId = result.PastureId,
            PlantId = result.PlantId,
            CountyId = result.CountyId,
            Message = $"{sample.SampleKind} sample {sample.SampleId} of {sample.LotKind} {sample.LotId} " +
                (suspect ? $"is suspect under {judged.RuleVersion} (screen positive, to be confirmed): " : $"failed {judged.RuleVersion}: ") +
                string.Join(", ", failing.Select(Describe)),
            Since = sample.SampledAt,
            Readings = failing.Select(i => new AlertReading
            {
                At = sample.SampledAt,
                Name = i.Item,
                Value = i.Value is { } v ? (double)v : null,
                Text = i.Result,
                Unit = i.Unit,
                Limit = Limit(i),
                Source = $"{result.Key} sample {sample.SampleId}",
            }).ToList(),
        }, now, cancellationToken);
    }

    public static string Describe(JudgedItem item) =>
        item.Value is { } value
            ? $"{item.Item} {value.ToString(CultureInfo.InvariantCulture)} {item.Unit} (limit {Limit(item)})"
            : $"{item.Item} {item.Result}{(item.Method is { } method ? " by " + method : "")} (must be negative)";

    public static string Limit(JudgedItem item) => (item.Min, item.Max) switch
    {
        ({ } min, { } max) => $"{min.ToString(CultureInfo.InvariantCulture)}..{max.ToString(CultureInfo.InvariantCulture)}",
        ({ } min, null) => ">= " + min.ToString(CultureInfo.InvariantCulture),
        (null, { } max) => "<= " + max.ToString(CultureInfo.InvariantCulture),
        _ => item.Result is null ? "none" : "negative",
    };

    /// <summary>
    /// Re-judges the samples taken in [from, to] (local days) under the rule version in force on each sample's day,
    /// or under <paramref name="ruleVersion"/> when given (e.g. to apply an amendment to history on purpose). Each
    /// changed result keeps its previous verdict, rule version and items in <c>quality_rejudgement</c>.
    /// </summary>
    public async Task<RejudgeSummary> RejudgeAsync(DateOnly from, DateOnly to, string? species, string? ruleVersion, string reason, CancellationToken cancellationToken)
    {
        var book = await rules.GetAsync(cancellationToken);
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<(string SampleId, string Species, DateOnly SampledOn, string Verdict, string RuleVersion, string Items, string LotKind, string? ProductCategory)>(
            new CommandDefinition(
                """
                select sample_id, species, sampled_on, verdict, rule_version, items::text, lot_kind, product_category
                from quality_result
                where sampled_on between @from and @to and (@species::text is null or species = @species)
                order by sample_id
                for update
                """, new { from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue), species }, transaction,
                cancellationToken: cancellationToken))).AsList();
        var now = clock.GetUtcNow();
        int changed = 0, verdicts = 0;
        var changedIds = new List<string>();
        foreach (var row in rows)
        {
            var stored = JsonSerializer.Deserialize<List<JudgedItem>>(row.Items, ItemJson) ?? [];
            var sampleItems = stored.Select(i => new SampleItem(i.Item, i.Unit, i.Value, i.Result, i.Method)).ToList();
            JudgedSample judged;
            if (ruleVersion is null)
            {
                judged = QualityJudge.JudgeSample(book, row.LotKind, row.ProductCategory, row.Species, row.SampledOn, sampleItems);
            }
            else
            {
                var subject = row.LotKind == "product_lot" ? row.ProductCategory : RuleSubjects.RawMilk;
                if (subject is null || book.Find(subject, row.Species, ruleVersion) is not { } version)
                {
                    continue;
                }

                judged = QualityJudge.Judge(version, sampleItems);
            }

            var items = JsonSerializer.Serialize(judged.Items, ItemJson);
            if (judged.RuleVersion == row.RuleVersion && judged.Verdict == row.Verdict
                && JsonSerializer.Serialize(stored, ItemJson) == items)
            {
                continue;
            }

            await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into quality_rejudgement (sample_id, rejudged_at, previous_verdict, previous_rule_version, previous_items, new_verdict, new_rule_version, reason)
                values (@SampleId, @now, @Verdict, @RuleVersion, @Items::jsonb, @newVerdict, @newVersion, @reason);
                update quality_result set verdict = @newVerdict, rule_version = @newVersion, items = @newItems::jsonb, judged_at = @now,
                    verdict_reason = @newReason
                where sample_id = @SampleId
                """,
                new
                {
                    row.SampleId, row.Verdict, row.RuleVersion, row.Items, now = now.UtcDateTime,
                    newVerdict = judged.Verdict, newVersion = judged.RuleVersion, newItems = items, reason, newReason = judged.Reason,
                }, transaction, cancellationToken: cancellationToken));
            changed++;
            verdicts += judged.Verdict != row.Verdict ? 1 : 0;
            changedIds.Add(row.SampleId);
        }

        await transaction.CommitAsync(cancellationToken);
        return new RejudgeSummary(rows.Count, changed, verdicts, changedIds);
    }
}

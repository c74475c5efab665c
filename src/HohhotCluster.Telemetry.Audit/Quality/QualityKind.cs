using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using HohhotCluster.Telemetry.Audit.Rules;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Audit.Quality;

/// <summary>
/// The <c>quality</c> kind, from a pasture's lab, a plant's, or a regulator's (one handler per owner kind), see
/// docs/mqtt-contract.md. A regulator's lab publishes supervisory samples only, naming the pasture or plant audited.
/// Items and units are checked against the rule table's catalogue; the sample is judged under the rule version
/// in force on its sampling day for its species and stored once per (device, epoch, seq) and once per sample id.
/// </summary>
public class QualityKind(OwnerKind owner, QualityStore store, OwnerDirectory owners, TimeProvider clock) : TelemetryKind<QualitySample>
{
    public const string KindName = "quality";
    private const int MaxItems = 40;

    private static readonly Lazy<RuleBook> Catalogue = new(() => new RuleBook(RuleBook.LoadEmbeddedCsv()));

    public override string Name => KindName;

    /// <summary>
    /// A pasture's or plant's lab tests every collection or delivery, every day: silent after 36 h (a day with slack for
    /// its hour). A regulator's lab samples when it visits (<see cref="LabQualityKind"/>: event-driven).
    /// </summary>
    public override ReportingCadence Cadence => ReportingCadence.SilentAfterOf(TimeSpan.FromHours(36));

    public override OwnerKind Owner => owner;

    public override bool TryParse(JsonElement payload, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out QualitySample? record, out Rejection rejection) =>
        PayloadFields.TryRead(() => Parse(payload, eventTime, owner, Catalogue.Value), out record, out rejection);

    internal static QualitySample Parse(JsonElement root, DateTimeOffset eventTime, OwnerKind owner, RuleBook catalogue)
    {
        var sampleKind = PayloadFields.RequiredChoice(root, "sampleKind", SampleKinds.All);
        if ((owner == OwnerKind.Pasture && sampleKind == SampleKinds.PlantAcceptance) ||
            (owner == OwnerKind.Plant && sampleKind == SampleKinds.PastureSelfCheck))
        {
            throw PayloadFields.Invalid("sampleKind", $"'{sampleKind}' is not taken by a {OwnerKinds.Name(owner)}");
        }

        if (owner == OwnerKind.Lab && sampleKind != SampleKinds.Supervisory)
        {
            throw PayloadFields.Invalid("sampleKind", $"a regulator's lab takes supervisory samples, not '{sampleKind}'");
        }

        // A supervisory sample is the regulator's: taken by its own lab, never by the party it audits.
        if (sampleKind == SampleKinds.Supervisory && owner is OwnerKind.Pasture or OwnerKind.Plant)
        {
            throw new PayloadRejectedException(new Rejection(QuarantineReasons.SupervisoryNotFromLab,
                $"sampleKind supervisory is taken only by a regulator's lab (hohhot/v1/lab/...), not by a {OwnerKinds.Name(owner)} device: the audited party cannot sample itself"));
        }

        string? sampledPasture = null, sampledPlant = null;
        if (owner == OwnerKind.Lab)
        {
            sampledPasture = PayloadFields.OptionalString(root, "pastureId", 64);
            sampledPlant = PayloadFields.OptionalString(root, "plantId", 64);
            if ((sampledPasture is null) == (sampledPlant is null))
            {
                throw PayloadFields.Invalid("pastureId", "a lab's sample names exactly one audited party: pastureId or plantId");
            }
        }

        var sampledAt = PayloadFields.OptionalTime(root, "sampledAt") ?? eventTime;
        if (sampledAt > eventTime + TimeSpan.FromMinutes(5) || sampledAt < eventTime - TimeSpan.FromDays(90))
        {
            throw PayloadFields.Invalid("sampledAt", "must be before eventTime and at most 90 days earlier");
        }

        if (!root.TryGetProperty("lot", out var lot) || lot.ValueKind != JsonValueKind.Object)
        {
            throw PayloadFields.Missing("lot");
        }

        var species = PayloadFields.OptionalString(root, "species", 8);
        if (species is not (null or "cow" or "goat"))
        {
            throw PayloadFields.Invalid("species", "must be cow or goat");
        }

        if (!root.TryGetProperty("items", out var itemsElement) || itemsElement.ValueKind != JsonValueKind.Array)
        {
            throw PayloadFields.Missing("items");
        }

        var count = itemsElement.GetArrayLength();
        if (count is 0 or > MaxItems)
        {
            throw PayloadFields.Invalid("items", $"must hold 1-{MaxItems} items");
        }

        var items = new List<SampleItem>(count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var element in itemsElement.EnumerateArray())
        {
            var at = $"items[{index++}]";
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw PayloadFields.Invalid(at, "must be an object");
            }

            var name = PayloadFields.RequiredString(element, "item", 64);
            if (!catalogue.IsKnownItem(name))
            {
                throw PayloadFields.Invalid(at + ".item", $"'{name}' is not an item of the rule table");
            }

            if (!seen.Add(name))
            {
                throw PayloadFields.Invalid(at + ".item", $"'{name}' appears twice");
            }

            var unit = PayloadFields.OptionalString(element, "unit", 16);
            string canonical;
            if (unit is null && catalogue.TryCanonicalUnit(name, "screen", out var screen, out canonical) && screen.Kind is "qualitative" or "screen")
            {
                // A screen has no unit to state.
            }
            else if (!catalogue.TryCanonicalUnit(name, unit ?? "", out _, out canonical))
            {
                var expected = catalogue.Rules.First(r => r.Item == name);
                throw PayloadFields.Invalid(at + ".unit", $"for {name} must be {expected.Unit}" + (expected.UnitAliases.Length > 0 ? $" (or {expected.UnitAliases.Replace('|', ' ')})" : ""));
            }

            if (canonical == "screen")
            {
                var result = PayloadFields.RequiredChoice(element, "result", "negative", "positive");
                var method = element.TryGetProperty("method", out _)
                    ? PayloadFields.RequiredChoice(element, "method", ScreenMethods.Screen, ScreenMethods.Confirmatory)
                    : ScreenMethods.Screen;
                items.Add(new SampleItem(name, canonical, null, result, method));
            }
            else
            {
                var value = PayloadFields.OptionalDecimal(element, "value", -1_000m, 1_000_000_000m) ?? throw PayloadFields.Missing(at + ".value");
                if (value < 0 && name != "freezing_point")
                {
                    throw PayloadFields.Invalid(at + ".value", "must not be negative");
                }

                items.Add(new SampleItem(name, canonical, value, null));
            }
        }

        var lotKind = PayloadFields.RequiredChoice(lot, "kind", LotKinds.All);
        var productCategory = root.TryGetProperty("productCategory", out _)
            ? PayloadFields.RequiredChoice(root, "productCategory", RuleSubjects.ProductCategories)
            : null;
        if (productCategory is not null && lotKind != "product_lot")
        {
            throw PayloadFields.Invalid("productCategory", $"is for a product_lot sample, not a {lotKind}");
        }

        return new QualitySample
        {
            SampleId = PayloadFields.RequiredString(root, "sampleId", 64),
            SampleKind = sampleKind,
            SampledAt = sampledAt,
            LotKind = lotKind,
            SampledPastureId = sampledPasture,
            SampledPlantId = sampledPlant,
            ProductCategory = productCategory,
            Confirms = PayloadFields.OptionalString(root, "confirms", 64),
            LotId = PayloadFields.RequiredString(lot, "id", 128),
            Species = species,
            TankerPlate = PayloadFields.OptionalString(root, "tankerPlate", 16),
            Lab = PayloadFields.OptionalString(root, "lab", 64),
            Items = items,
        };
    }

    public override async ValueTask<Rejection?> CheckAsync(Accepted<QualitySample> record, CancellationToken cancellationToken)
    {
        var sample = record.Record;
        var (auditedKind, auditedId) = Audited(record.Device, sample);
        var registered = await owners.SpeciesOfAsync(auditedKind, auditedId, cancellationToken);
        if (registered is null)
        {
            return record.Device.OwnerKind == "lab"
                ? new Rejection(QuarantineReasons.InvalidField, $"{(auditedKind == "pasture" ? "pastureId" : "plantId")} '{auditedId}' is not a registered {auditedKind}")
                : new Rejection(QuarantineReasons.UnknownDevice, $"{record.Device.OwnerKind} '{record.Device.OwnerId}' is not registered");
        }

        // A pasture keeps one species; a plant may receive either, so only a pasture's sample must match it.
        if (auditedKind == "pasture" && sample.Species is { } species && species != registered)
        {
            return new Rejection(QuarantineReasons.InvalidField, $"species '{species}' differs from pasture '{auditedId}' ({registered})");
        }

        return null;
    }

    /// <summary>Whose milk the sample judges: the device's own pasture or plant, or the one a lab's sample names.</summary>
    private static (string Kind, string Id) Audited(DeviceContext device, QualitySample sample) =>
        device.OwnerKind != "lab" ? (device.OwnerKind, device.OwnerId)
        : sample.SampledPastureId is { } pasture ? ("pasture", pasture)
        : ("plant", sample.SampledPlantId!);

    public override async Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<QualitySample>> records, CancellationToken cancellationToken)
    {
        var results = new List<QualityResult>(records.Count);
        foreach (var record in records)
        {
            var sample = record.Record;
            var (auditedKind, auditedId) = Audited(record.Device, sample);
            var (registeredSpecies, auditedCounty) = await owners.FindAsync(auditedKind, auditedId, cancellationToken);
            var species = sample.Species ?? registeredSpecies ?? "cow";
            var fromLab = record.Device.OwnerKind == "lab";
            results.Add(new QualityResult
            {
                // A lab's sample is stored against the lot's pasture or plant and its county; the lab is named in `lab`.
                Sample = sample with { Species = species, Lab = fromLab ? record.Device.OwnerId : sample.Lab },
                Key = record.Key,
                PastureId = auditedKind == "pasture" ? auditedId : null,
                PlantId = auditedKind == "plant" ? auditedId : null,
                CountyId = fromLab ? auditedCounty ?? record.Device.CountyId : record.Device.CountyId,
                ReceivedAt = clock.GetUtcNow(),
            });
        }

        return await store.AddAsync(results, cancellationToken);
    }

    public override void WritePoints(LineProtocolWriter writer, Accepted<QualitySample> record)
    {
        var sample = record.Record;
        var (auditedKind, auditedId) = Audited(record.Device, sample);
        var writing = writer.Measurement("quality", record.Key)
            .Tag("county", record.Device.CountyId).Tag("device", record.Key.DeviceId)
            .Tag(record.Device.OwnerKind, record.Device.OwnerId);
        if (auditedKind != record.Device.OwnerKind)
        {
            writing = writing.Tag(auditedKind, auditedId);
        }

        writing.Tag("sample_kind", sample.SampleKind);
        foreach (var item in sample.Items)
        {
            if (item.Value is { } value)
            {
                writer.Field(item.Item, (double)value);
            }
            else if (item.Result is { } result)
            {
                writer.Field(item.Item + "_positive", result == "positive" ? 1L : 0L);
            }
        }

        writer.Field("seq", record.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(sample.SampledAt, record.Key.Sequence));
    }
}

/// <summary>The <c>quality</c> kind under a pasture's topics.</summary>
public sealed class PastureQualityKind(QualityStore store, OwnerDirectory owners, TimeProvider clock) : QualityKind(OwnerKind.Pasture, store, owners, clock);

/// <summary>The <c>quality</c> kind under a plant's topics.</summary>
public sealed class PlantQualityKind(QualityStore store, OwnerDirectory owners, TimeProvider clock) : QualityKind(OwnerKind.Plant, store, owners, clock);

/// <summary>The <c>quality</c> kind under a regulator's lab's topics: supervisory samples only.</summary>
public sealed class LabQualityKind(QualityStore store, OwnerDirectory owners, TimeProvider clock) : QualityKind(OwnerKind.Lab, store, owners, clock)
{
    /// <summary>A regulator samples when it visits, never on a clock.</summary>
    public override ReportingCadence Cadence => ReportingCadence.EventDriven;
}

using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Farm;

/// <summary>
/// The <c>health</c> kind: per programme, a vaccination session (head vaccinated), a census (head in stock and head
/// due, the two immunisation-density denominators) or antibody titre tests (reciprocal titres, judged against the
/// programme's protective titre from configuration).
/// </summary>
public sealed class HealthKind(FarmRecordStore store, OwnerDirectory owners, IOptions<AuditOptions> options) : TelemetryKind<HealthRecord>
{
    private const int MaxHead = 1_000_000;
    private const int MaxTitres = 500;

    public override string Name => "health";

    /// <summary>
    /// A daily census (07:00 in the simulator) with vaccinations and titre tests beside it: silent after 36 h, a day
    /// with slack for its hour; the programmes' real rhythm is not verified here.
    /// </summary>
    public override ReportingCadence Cadence => ReportingCadence.SilentAfterOf(TimeSpan.FromHours(36));

    public override OwnerKind Owner => OwnerKind.Pasture;

    public override bool TryParse(JsonElement payload, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out HealthRecord? record, out Rejection rejection) =>
        PayloadFields.TryRead(() => Parse(payload, eventTime, options.Value), out record, out rejection);

    internal static HealthRecord Parse(JsonElement payload, DateTimeOffset eventTime, AuditOptions options)
    {
        var kind = PayloadFields.RequiredChoice(payload, "event", "vaccination", "census", "antibody_test");
        var programme = PayloadFields.RequiredString(payload, "programme", 32);
        if (!options.EffectiveProgrammes.Any(p => p.Id == programme))
        {
            throw PayloadFields.Invalid("programme", "must be one of " + string.Join(", ", options.EffectiveProgrammes.Select(p => p.Id)));
        }

        var species = PayloadFields.OptionalString(payload, "species", 8);
        if (species is not (null or "cow" or "goat"))
        {
            throw PayloadFields.Invalid("species", "must be cow or goat");
        }

        var record = new HealthRecord { Event = kind, Programme = programme, Species = species, LocalDate = ChinaTime.LocalDate(eventTime) };
        switch (kind)
        {
            case "vaccination":
                return record with { Vaccinated = PayloadFields.RequiredInt(payload, "vaccinated", 1, MaxHead) };
            case "census":
                var inStock = PayloadFields.RequiredInt(payload, "inStock", 0, MaxHead);
                var due = PayloadFields.RequiredInt(payload, "due", 0, MaxHead);
                return due > inStock ? throw PayloadFields.Invalid("due", "must not exceed inStock") : record with { InStock = inStock, Due = due };
            default:
                if (options.EffectiveProgrammes.First(p => p.Id == programme).ProtectiveTitre == 0)
                {
                    throw PayloadFields.Invalid("programme", $"'{programme}' has no protective titre configured");
                }

                if (!payload.TryGetProperty("titres", out var titres) || titres.ValueKind != JsonValueKind.Array)
                {
                    throw PayloadFields.Missing("titres");
                }

                var values = new List<int>(titres.GetArrayLength());
                foreach (var titre in titres.EnumerateArray())
                {
                    if (titre.ValueKind != JsonValueKind.Number || !titre.TryGetInt32(out var value) || value < 0 || value > 1_000_000)
                    {
                        throw PayloadFields.Invalid("titres", "must hold reciprocal titres, integers 0-1000000");
                    }

                    values.Add(value);
                }

                return values.Count is 0 or > MaxTitres
                    ? throw PayloadFields.Invalid("titres", $"must hold 1-{MaxTitres} results")
                    : record with { Titres = values };
        }
    }

    /// <summary>
    /// A programme is for the species it names (PPR: goats): a record of it for a pasture's other animals would count
    /// them in its stock, so it is refused naming the programme.
    /// </summary>
    public override async ValueTask<Rejection?> CheckAsync(Accepted<HealthRecord> record, CancellationToken cancellationToken)
    {
        var health = record.Record;
        var programme = options.Value.EffectiveProgrammes.First(p => p.Id == health.Programme);
        var species = health.Species ?? await owners.SpeciesOfAsync("pasture", record.Device.OwnerId, cancellationToken) ?? "cow";
        return programme.Applies(species)
            ? null
            : new Rejection(QuarantineReasons.InvalidField,
                $"programme '{programme.Id}' is for {string.Join(" and ", programme.Species)}, not {species} (pasture '{record.Device.OwnerId}')");
    }

    public override async Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<HealthRecord>> records, CancellationToken cancellationToken)
    {
        var rows = new List<(Accepted<HealthRecord>, HealthRecord, string Species, int Protective)>(records.Count);
        foreach (var record in records)
        {
            var health = record.Record;
            var species = health.Species ?? await owners.SpeciesOfAsync("pasture", record.Device.OwnerId, cancellationToken) ?? "cow";
            var protectiveTitre = options.Value.EffectiveProgrammes.First(p => p.Id == health.Programme).ProtectiveTitre;
            var protective = health.Titres.Count(t => t >= protectiveTitre);
            rows.Add((record, health, species, protective));
        }

        return await store.AddHealthAsync(rows, cancellationToken);
    }

    public override void WritePoints(LineProtocolWriter writer, Accepted<HealthRecord> record)
    {
        var h = record.Record;
        writer.Measurement("health", record.Key)
            .Tag("county", record.Device.CountyId).Tag("device", record.Key.DeviceId).Tag("event", h.Event)
            .Tag("pasture", record.Device.OwnerId).Tag("programme", h.Programme)
            .Field("vaccinated", (long)h.Vaccinated).Field("in_stock", (long)h.InStock).Field("due", (long)h.Due)
            .Field("tested", (long)h.Titres.Count)
            .Field("seq", record.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(record.EventTime, record.Key.Sequence));
    }
}

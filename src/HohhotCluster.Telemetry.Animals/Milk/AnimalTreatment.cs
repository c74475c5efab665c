using System.Data;
using System.Globalization;
using System.Text.Json;
using Dapper;
using Npgsql;

namespace HohhotCluster.Telemetry.Animals.Milk;

/// <summary>
/// What a treatment (ICAR <c>icarTreatmentEventResource</c>) or withdrawal (<c>icarWithdrawalEventResource</c>) event
/// says: the medicine, procedure and dose, and the end of the milk withdrawal it sets (the latest <c>Milk</c> end).
/// </summary>
public sealed record AnimalTreatment
{
    public string? MedicineName { get; init; }
    public string? MedicineScheme { get; init; }
    public string? MedicineId { get; init; }
    public string? Procedure { get; init; }
    public double? DoseQuantity { get; init; }
    public string? DoseUnits { get; init; }

    /// <summary>The animal's milk is withheld until then; null when the event sets no milk withdrawal.</summary>
    public DateTimeOffset? MilkWithdrawalEnd { get; init; }
}

/// <summary>The treatment and withdrawal members of an <c>animalEvent</c> (pure; refusals name the member by its path).</summary>
internal static class AnimalTreatmentPayloads
{
    /// <summary>ICAR <c>icarWithdrawalProductType</c>.</summary>
    private static readonly string[] ProductTypes = ["Meat", "Milk", "Eggs", "Honey", "Velvet", "Fibre", "Other"];

    public static AnimalTreatment Parse(JsonElement resource, AnimalEventType type, DateTimeOffset eventTime)
    {
        const string path = "animalEvent.";
        if (type == AnimalEventType.Withdrawal)
        {
            var product = Text(resource, path + "productType", 16) ?? throw Missing(path + "productType");
            if (Array.IndexOf(ProductTypes, product) < 0)
            {
                throw Invalid(path + "productType", "must be one of " + string.Join(", ", ProductTypes));
            }

            var end = Time(resource, path + "endDateTime") ?? throw Missing(path + "endDateTime");
            return new AnimalTreatment { MilkWithdrawalEnd = product == "Milk" ? After(end, eventTime, path + "endDateTime") : null };
        }

        var treatment = new AnimalTreatment { Procedure = Text(resource, path + "procedure", 64) };
        if (Object(resource, path + "medicine") is { } medicine)
        {
            treatment = treatment with { MedicineName = Text(medicine, path + "medicine.name", 128) };
            if (Object(medicine, path + "medicine.registeredIdentifier") is { } id)
            {
                treatment = treatment with
                {
                    MedicineScheme = Text(id, path + "medicine.registeredIdentifier.scheme", 64) ?? throw Missing(path + "medicine.registeredIdentifier.scheme"),
                    MedicineId = Text(id, path + "medicine.registeredIdentifier.id", 64) ?? throw Missing(path + "medicine.registeredIdentifier.id"),
                };
            }
        }

        if (Object(resource, path + "dose") is { } dose)
        {
            double? quantity = null;
            if (dose.TryGetProperty("doseQuantity", out var q) && q.ValueKind != JsonValueKind.Null)
            {
                quantity = q.ValueKind == JsonValueKind.Number && q.TryGetDouble(out var v) && v > 0 && v < 1e6
                    ? v
                    : throw Invalid(path + "dose.doseQuantity", "must be a positive number");
            }

            treatment = treatment with { DoseQuantity = quantity, DoseUnits = Text(dose, path + "dose.doseUnits", 8) };
        }

        if (resource.TryGetProperty("withdrawals", out var withdrawals) && withdrawals.ValueKind != JsonValueKind.Null)
        {
            if (withdrawals.ValueKind != JsonValueKind.Array || withdrawals.GetArrayLength() > 16)
            {
                throw Invalid(path + "withdrawals", "must be an array of at most 16 ICAR medicine withdrawals");
            }

            var i = 0;
            foreach (var w in withdrawals.EnumerateArray())
            {
                var at = $"{path}withdrawals[{i++}].";
                if (w.ValueKind != JsonValueKind.Object)
                {
                    throw Invalid(at.TrimEnd('.'), "must be an object {productType, endDate}");
                }

                var product = Text(w, at + "productType", 16) ?? throw Missing(at + "productType");
                if (Array.IndexOf(ProductTypes, product) < 0)
                {
                    throw Invalid(at + "productType", "must be one of " + string.Join(", ", ProductTypes));
                }

                var end = Time(w, at + "endDate") ?? throw Missing(at + "endDate");
                if (product == "Milk")
                {
                    var milkEnd = After(end, eventTime, at + "endDate");
                    if (treatment.MilkWithdrawalEnd is not { } latest || milkEnd > latest)
                    {
                        treatment = treatment with { MilkWithdrawalEnd = milkEnd };
                    }
                }
            }
        }

        return treatment;
    }

    private static DateTimeOffset After(DateTimeOffset end, DateTimeOffset eventTime, string name) =>
        end > eventTime && end <= eventTime.AddYears(1) ? end : throw Invalid(name, "must be after the event and within a year of it");

    private static JsonElement? Object(JsonElement element, string path)
    {
        var name = path[(path.LastIndexOf('.') + 1)..];
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Object ? value : throw Invalid(path, "must be an object");
    }

    private static string? Text(JsonElement element, string path, int maxLength)
    {
        var name = path[(path.LastIndexOf('.') + 1)..];
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text && text.Length <= maxLength
            ? text
            : throw Invalid(path, $"must be a string of 1-{maxLength} characters");
    }

    private static DateTimeOffset? Time(JsonElement element, string path)
    {
        var text = Text(element, path, 40);
        if (text is null)
        {
            return null;
        }

        // ICAR's icarDateTimeType: RFC 3339 with an offset.
        return text.Contains('T', StringComparison.Ordinal) && (text.EndsWith('Z') || text.AsSpan(text.IndexOf('T', StringComparison.Ordinal)).IndexOfAny('+', '-') >= 0)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
            ? time
            : throw Invalid(path, "must be RFC 3339 with an offset");
    }

    private static AnimalPayloadException Missing(string name) => new(new Kinds.Rejection(Kinds.QuarantineReasons.MissingField, name + " is required"));

    private static AnimalPayloadException Invalid(string name, string rule) => AnimalEventPayloads.Invalid(name, rule);
}

/// <summary>
/// The one owner of <c>animal_treatment</c> and <c>animal_milk_withdrawal</c> (migration 0402). Written by
/// <see cref="AnimalRegistryStore"/> in the transaction of the treatment's event row; read by <see cref="AnimalMilkStore"/>
/// through <see cref="MilkWithdrawalJoin"/>.
/// </summary>
public static class AnimalTreatmentStore
{
    /// <summary>The join a milk query adds to <c>animal a</c> for the animal's milk withdrawal end (<c>w.milk_withdrawal_end</c>).</summary>
    public const string MilkWithdrawalJoin = "left join animal_milk_withdrawal w on w.ear_tag = a.ear_tag";

    internal static async Task RecordAsync(NpgsqlConnection connection, IDbTransaction transaction, string earTag, DateTimeOffset eventTime,
        AnimalTreatment t, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into animal_treatment (animal_event_id, ear_tag, event_time, medicine_name, medicine_scheme, medicine_id, procedure, dose_quantity,
                dose_units, milk_withdrawal_end)
            select max(id), @earTag, @at, @MedicineName, @MedicineScheme, @MedicineId, @Procedure, @DoseQuantity, @DoseUnits, @end
            from animal_event where ear_tag = @earTag and event_time = @at and event in ('treatment', 'withdrawal');
            insert into animal_milk_withdrawal (ear_tag, milk_withdrawal_end)
            select @earTag, @end where @end::timestamptz is not null
            on conflict (ear_tag) do update set milk_withdrawal_end = greatest(animal_milk_withdrawal.milk_withdrawal_end, excluded.milk_withdrawal_end);
            """,
            new
            {
                earTag, at = eventTime.UtcDateTime, t.MedicineName, t.MedicineScheme, t.MedicineId, t.Procedure, t.DoseQuantity, t.DoseUnits,
                end = t.MilkWithdrawalEnd?.UtcDateTime,
            }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>The animal's milk withdrawal end, or null.</summary>
    public static async Task<DateTimeOffset?> MilkWithdrawalEndAsync(NpgsqlDataSource dataSource, string earTag, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var end = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
            "select milk_withdrawal_end from animal_milk_withdrawal where ear_tag = @earTag", new { earTag }, cancellationToken: cancellationToken));
        return end is { } e ? new DateTimeOffset(DateTime.SpecifyKind(e, DateTimeKind.Utc)) : null;
    }
}

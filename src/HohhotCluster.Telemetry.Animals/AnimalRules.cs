using System.Globalization;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Animals;

/// <summary>
/// The registry as a fold of events, pure: an animal's state and one event to the next state, or the rejection that
/// says why the event cannot follow (docs/animals.md, "Rules"). The gate, the store and the bulk import all use it, so
/// telemetry and import agree on what an animal may do.
/// </summary>
public static class AnimalRules
{
    /// <summary>The next state, or the rejection (a <see cref="QuarantineReasons"/> code naming the animal).</summary>
    public static bool TryApply(AnimalState? current, AnimalEventRecord e, DateTimeOffset eventTime, PastureFacts pasture,
        out AnimalState next, out Rejection rejection)
    {
        next = null!;
        var tag = e.Animal.Value;
        if (e.Animal.SpeciesDigit != EarTag.DigitOf(pasture.Species))
        {
            rejection = new Rejection(QuarantineReasons.SpeciesMismatch,
                $"animal.id '{tag}' is a {(e.Animal.SpeciesDigit == '2' ? "cattle" : "sheep/goat")} tag; pasture '{pasture.PastureId}' keeps {AnimalNames.Name(pasture.Species)}s");
            return false;
        }

        if (e.Detail is { } detail && detail.Species != pasture.Species)
        {
            rejection = new Rejection(QuarantineReasons.SpeciesMismatch,
                $"animalDetail.specie of '{tag}' is {Icar(detail.Species)}; pasture '{pasture.PastureId}' keeps {AnimalNames.Name(pasture.Species)}s");
            return false;
        }

        var day = ChinaTime.LocalDate(eventTime);
        switch (e.Event)
        {
            case AnimalEventType.Birth:
            case AnimalEventType.Registration:
            case AnimalEventType.Arrival:
                return TryRegister(current, e, eventTime, day, pasture, out next, out rejection);
        }

        if (current is null)
        {
            rejection = new Rejection(QuarantineReasons.UnknownAnimal, $"animal.id '{tag}' is not in the registry: its birth, arrival or import comes first");
            return false;
        }

        if (!IsHere(current, tag, pasture, out rejection) || !InOrder(current, tag, eventTime, out rejection))
        {
            return false;
        }

        switch (e.Event)
        {
            case AnimalEventType.Departure:
                next = current with { Status = AnimalStatus.OffFarm, HerdId = null, LastEventTime = eventTime };
                break;
            case AnimalEventType.Death:
                next = current with { Status = AnimalStatus.Dead, HerdId = null, LastEventTime = eventTime };
                break;
            case AnimalEventType.HerdMove:
                next = current with { HerdId = e.HerdId, LastEventTime = eventTime };
                break;
            case AnimalEventType.DryOff:
                if (current.Sex != "Female")
                {
                    rejection = new Rejection(QuarantineReasons.AnimalNotFemale, $"animal '{tag}' is registered as {current.Sex}: only a female is dried off");
                    return false;
                }

                if (!AnimalNames.IsInMilk(current.LactationStatus))
                {
                    rejection = new Rejection(QuarantineReasons.AnimalNotLactating,
                        $"animal '{tag}' is not in milk (lactation status {current.LactationStatus ?? "none, never calved"}): nothing to dry off");
                    return false;
                }

                next = current with { LactationStatus = "Dry", LastEventTime = eventTime };
                break;
            case AnimalEventType.Calving:
                if (current.Sex != "Female")
                {
                    rejection = new Rejection(QuarantineReasons.AnimalNotFemale, $"animal '{tag}' is registered as {current.Sex}: only a female calves");
                    return false;
                }

                next = current with { Parity = current.Parity + 1, LactationStatus = "Fresh", LactationStart = day, LastEventTime = eventTime };
                break;
            case AnimalEventType.Treatment:
            case AnimalEventType.Withdrawal:
                // The animal's state is unchanged; its milk withdrawal is kept beside it (AnimalTreatmentStore).
                next = current with { LastEventTime = eventTime };
                break;
            case var care when AnimalCareNames.IsCareEvent(care):
                // A health or breeding event changes no registry state (AnimalCareRules.cs).
                if (!AnimalCareRules.TryFollow(current, e, out rejection))
                {
                    return false;
                }

                next = current;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(e), e.Event, "not an event of an animal in the registry");
        }

        rejection = default;
        return true;
    }

    /// <summary>True when the event would change nothing: a bulk import of an animal already registered as it says.</summary>
    public static bool IsSameRegistration(AnimalState current, AnimalEventRecord e, PastureFacts pasture) =>
        e.Event == AnimalEventType.Registration && e.Detail is { } d && current.Status == AnimalStatus.Alive
        && current.PastureId == pasture.PastureId && current.HerdId == e.HerdId && current.Species == d.Species && current.Sex == d.Sex
        && current.BirthDate == d.BirthDate && current.Breed == d.Breed && current.Parity == d.Parity && current.LactationStatus == d.LactationStatus;

    private static bool TryRegister(AnimalState? current, AnimalEventRecord e, DateTimeOffset eventTime, DateOnly day, PastureFacts pasture,
        out AnimalState next, out Rejection rejection)
    {
        next = null!;
        var tag = e.Animal.Value;
        var detail = e.Detail ?? throw new ArgumentException("a birth, arrival or registration describes its animal", nameof(e));
        if (e.Event == AnimalEventType.Birth && e.Animal.CountyCode != pasture.CountyId)
        {
            rejection = new Rejection(QuarantineReasons.TagCountyMismatch,
                $"animal.id '{tag}' carries county code {e.Animal.CountyCode}; a calf born on pasture '{pasture.PastureId}' is tagged with its county's code {pasture.CountyId}");
            return false;
        }

        if (detail.BirthDate is { } born && born > day)
        {
            rejection = new Rejection(QuarantineReasons.InvalidField,
                $"animalDetail.birthDate {born.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} of '{tag}' is after the event's day {day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}");
            return false;
        }

        if (current is not null)
        {
            switch (current.Status)
            {
                case AnimalStatus.Dead:
                    rejection = Dead(current, tag);
                    return false;
                case AnimalStatus.Alive:
                    rejection = new Rejection(QuarantineReasons.AnimalAlreadyRegistered,
                        $"animal '{tag}' is already registered, alive on pasture '{current.PastureId}'" +
                        (current.PastureId == pasture.PastureId ? "" : ": its departure from there comes first"));
                    return false;
            }

            // Off farm: it comes back (bought back, a show or agistment returning); a birth or import cannot.
            if (e.Event != AnimalEventType.Arrival)
            {
                rejection = new Rejection(QuarantineReasons.AnimalAlreadyRegistered,
                    $"animal '{tag}' is already registered (departed from pasture '{current.PastureId}'): it comes back by an arrival");
                return false;
            }

            if (!InOrder(current, tag, eventTime, out rejection))
            {
                return false;
            }

            next = current with
            {
                Status = AnimalStatus.Alive, PastureId = pasture.PastureId, CountyId = pasture.CountyId, HerdId = e.HerdId,
                Breed = detail.Breed ?? current.Breed, BirthDate = detail.BirthDate ?? current.BirthDate,
                Parity = Math.Max(detail.Parity, current.Parity), LactationStatus = detail.LactationStatus ?? current.LactationStatus,
                LastEventTime = eventTime,
            };
            rejection = default;
            return true;
        }

        next = new AnimalState
        {
            EarTag = tag, Species = detail.Species, Breed = detail.Breed, Sex = detail.Sex,
            BirthDate = detail.BirthDate ?? (e.Event == AnimalEventType.Birth ? day : null),
            Parity = e.Event == AnimalEventType.Birth ? 0 : detail.Parity,
            LactationStatus = e.Event == AnimalEventType.Birth ? null : detail.LactationStatus,
            Status = AnimalStatus.Alive, PastureId = pasture.PastureId, CountyId = pasture.CountyId, HerdId = e.HerdId,
            RegisteredAt = eventTime, LastEventTime = eventTime,
        };
        rejection = default;
        return true;
    }

    private static bool IsHere(AnimalState current, string tag, PastureFacts pasture, out Rejection rejection)
    {
        rejection = current.Status switch
        {
            AnimalStatus.Dead => Dead(current, tag),
            AnimalStatus.OffFarm => new Rejection(QuarantineReasons.AnimalDeparted,
                $"animal '{tag}' departed from pasture '{current.PastureId}' at {Time(current.LastEventTime)}: it is off farm"),
            _ when current.PastureId != pasture.PastureId => new Rejection(QuarantineReasons.AnimalNotOnPasture,
                $"animal '{tag}' is registered on pasture '{current.PastureId}', not '{pasture.PastureId}'"),
            _ => default,
        };
        return rejection.Reason is null;
    }

    private static bool InOrder(AnimalState current, string tag, DateTimeOffset eventTime, out Rejection rejection)
    {
        rejection = eventTime < current.LastEventTime
            ? new Rejection(QuarantineReasons.AnimalEventOutOfOrder,
                $"eventTime {Time(eventTime)} is before the newest event of animal '{tag}' ({Time(current.LastEventTime)}): the registry takes an animal's events in time order")
            : default;
        return rejection.Reason is null;
    }

    private static Rejection Dead(AnimalState current, string tag) =>
        new(QuarantineReasons.AnimalDead, $"animal '{tag}' died on pasture '{current.PastureId}' at {Time(current.LastEventTime)}");

    private static string Icar(AnimalSpecies species) => species == AnimalSpecies.Cow ? "Cattle" : "Goat";

    private static string Time(DateTimeOffset t) => t.ToOffset(ChinaTime.Offset).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
}

using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>animal_event bodies as docs/mqtt-contract.md writes them ("Animal kinds").</summary>
internal static class AnimalBodies
{
    public static object Tag(string earTag) => new { scheme = "cn.moa.eartag", id = earTag };

    public static object Detail(string specie = "Cattle", string gender = "Female", string? birthDate = "2024-02-01", int? parity = null, string? lactationStatus = null) =>
        new { specie, gender, birthDate, primaryBreed = new { scheme = "cn.hohhot.breed", id = "HOL" }, parity, lactationStatus };

    public static object Birth(string earTag, string herdId, object? detail = null) => new
    {
        herdId,
        animalEvent = new
        {
            resourceType = "icarMovementBirthEventResource", id = "EV-B-" + earTag, animal = Tag(earTag), registrationReason = "Born",
            animalDetail = detail ?? Detail(birthDate: null),
        },
    };

    public static object Arrival(string earTag, string herdId, object? detail = null, string arrivalReason = "Purchase") => new
    {
        herdId,
        animalEvent = new { resourceType = "icarMovementArrivalEventResource", animal = Tag(earTag), arrivalReason, animalDetail = detail ?? Detail(parity: 1, lactationStatus: "Lactating") },
    };

    public static object Departure(string earTag, string departureKind = "Sale") =>
        new { animalEvent = new { resourceType = "icarMovementDepartureEventResource", animal = Tag(earTag), departureKind } };

    public static object Death(string earTag, string deathReason = "Disease") =>
        new { animalEvent = new { resourceType = "icarMovementDeathEventResource", animal = Tag(earTag), deathReason } };

    public static object HerdMove(string earTag, string herdId) =>
        new { animalEvent = new { resourceType = "icarAnimalSetJoinEventResource", animal = Tag(earTag), animalSetId = herdId } };

    public static object DryOff(string earTag) =>
        new { animalEvent = new { resourceType = "icarMilkingDryOffEventResource", animal = Tag(earTag) } };

    public static object Calving(string earTag) =>
        new { animalEvent = new { resourceType = "icarReproParturitionEventResource", animal = Tag(earTag), liveProgeny = 1, totalProgeny = 1 } };

    /// <summary>A medicine treatment (no programme) whose milk withdrawal ends at <paramref name="milkEnd"/>.</summary>
    public static object Treatment(string tag, DateTimeOffset milkEnd) => new
    {
        animalEvent = new
        {
            resourceType = "icarTreatmentEventResource",
            animal = AnimalBodies.Tag(tag),
            medicine = new { name = "Cefquinome", registeredIdentifier = new { scheme = "cn.moa.vetdrug", id = "VD-2024-001" } },
            procedure = "Intramammary",
            dose = new { doseQuantity = 75.0, doseUnits = "MGM" },
            withdrawals = new object[]
            {
                new { productType = "Meat", endDate = Payloads.Rfc3339(milkEnd.AddDays(10)) },
                new { productType = "Milk", endDate = Payloads.Rfc3339(milkEnd) },
            },
        },
    };
}

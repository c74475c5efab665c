namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>Health and breeding animal_event bodies as docs/mqtt-contract.md writes them ("Animal kinds", issue 17's wire decisions).</summary>
internal static class AnimalCareBodies
{
    private static object Tag(string earTag) => AnimalBodies.Tag(earTag);

    public static object Vaccination(string earTag, string programme = "fmd", string vaccine = "FMD O/A bivalent inactivated") => new
    {
        programme,
        animalEvent = new
        {
            resourceType = "icarTreatmentEventResource", id = "EV-V-" + earTag, animal = Tag(earTag), procedure = "Vaccination",
            medicine = new { name = vaccine, registeredIdentifier = new { scheme = "cn.moa.vetdrug", id = "(2024)150012345" } },
            dose = new { doseQuantity = 1.0, doseUnit = "MLT" },
        },
    };

    public static object AntibodyTest(string earTag, bool protective, string programme = "fmd") => new
    {
        programme,
        antibodyTest = new { result = protective ? "protective" : "not_protective" },
        animalEvent = new { resourceType = "icarDiagnosisEventResource", animal = Tag(earTag) },
    };

    public static object Heat(string earTag) =>
        new { animalEvent = new { resourceType = "icarReproHeatEventResource", animal = Tag(earTag), heatDetectionMethod = "Pedometer", certainty = "InHeat" } };

    public static object Insemination(string earTag, bool sexed, string bull = "HOL840003123456789") => new
    {
        animalEvent = new
        {
            resourceType = "icarReproInseminationEventResource", animal = Tag(earTag), inseminationType = "Insemination",
            straw = new
            {
                isSexedSemen = sexed, sexedGender = sexed ? "Female" : null,
                sireIdentifiers = new[] { new { scheme = "icar.hol", id = bull } },
            },
        },
    };

    public static object NaturalService(string earTag) => new
    {
        animalEvent = new
        {
            resourceType = "icarReproInseminationEventResource", animal = Tag(earTag), inseminationType = "NaturalService",
            sireIdentifiers = new[] { new { scheme = "cn.moa.eartag", id = "215012100009999" } },
        },
    };

    public static object EmbryoTransfer(string earTag, string? origin) => new
    {
        embryoOrigin = origin,
        animalEvent = new
        {
            resourceType = "icarReproInseminationEventResource", animal = Tag(earTag), inseminationType = "Implantation",
            embryo = new
            {
                id = new { scheme = "cn.saikexing.embryo", id = "E-" + earTag }, collectionCentre = "Saikexing",
                donorIdentifiers = new[] { new { scheme = "icar.hol", id = "HOL840003000000001" } },
                sireIdentifiers = new[] { new { scheme = "icar.hol", id = "HOL840003000000002" } },
            },
        },
    };

    public static object PregnancyCheck(string earTag, string result) =>
        new { animalEvent = new { resourceType = "icarReproPregnancyCheckEventResource", animal = Tag(earTag), method = "Echography", result } };

    public static object Abortion(string earTag) =>
        new { animalEvent = new { resourceType = "icarReproAbortionEventResource", animal = Tag(earTag) } };

    public static object Calving(string earTag, params string[] calves) => new
    {
        animalEvent = new
        {
            resourceType = "icarReproParturitionEventResource", animal = Tag(earTag), liveProgeny = calves.Length, totalProgeny = calves.Length,
            progenyDetails = calves.Select(g => new { specie = "Cattle", gender = g }).ToArray(),
        },
    };
}

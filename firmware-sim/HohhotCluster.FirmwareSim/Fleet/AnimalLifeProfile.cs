namespace HohhotCluster.FirmwareSim.Fleet;

/// <summary>
/// The rates of the animals' life events (a profile's <c>animals</c> section). domain.md gives none of these: every
/// default is the simulator's stated assumption (<see cref="Sources"/> says which), kept here as data, not code.
/// </summary>
internal sealed class AnimalLifeProfile
{
    /// <summary>
    /// The animal event types published (<c>all</c>, <c>platform-main</c> = birth, arrival, departure, death, herd move,
    /// dry-off and calving, which the platform's registry reads today, or a list of names); <c>--animal-events</c> overrides.
    /// </summary>
    public List<string> Events { get; set; } = ["all"];
    /// <summary>Adult cows leaving the herd a year (sold, slaughtered or dead); each is replaced by a bought in-calf heifer.</summary>
    public double CowCullPerYear { get; set; } = 0.28;
    public double GoatCullPerYear { get; set; } = 0.20;
    /// <summary>Share of the culled that died on the farm (the rest are sold or slaughtered).</summary>
    public double CullDeathShare { get; set; } = 0.25;
    /// <summary>Calves and kids that die before 60 days.</summary>
    public double CalfMortality60Days { get; set; } = 0.05;
    /// <summary>Male calves and kids are sold at this age (days, inclusive range).</summary>
    public int MaleCalfSaleMinDays { get; set; } = 3;
    public int MaleCalfSaleMaxDays { get; set; } = 10;
    /// <summary>Twins among goat kiddings (cows: singles only).</summary>
    public double GoatTwinShare { get; set; } = 0.5;
    /// <summary>Conception per service (the breeding KPI's denominator is the services).</summary>
    public double CowConceptionRate { get; set; } = 0.40;
    public double HeiferConceptionRate { get; set; } = 0.55;
    public double GoatConceptionRate { get; set; } = 0.60;
    /// <summary>Share of services with sexed semen: heifers get most of it, cows little.</summary>
    public double HeiferSexedShare { get; set; } = 0.85;
    public double CowSexedShare { get; set; } = 0.10;
    /// <summary>Female calves from sexed and conventional semen.</summary>
    public double SexedFemaleShare { get; set; } = 0.90;
    public double ConventionalFemaleShare { get; set; } = 0.49;
    /// <summary>Heifer pregnancies by embryo transfer, and the imported share of those embryos.</summary>
    public double HeiferEmbryoTransferShare { get; set; } = 0.02;
    public double ImportedEmbryoShare { get; set; } = 0.25;
    /// <summary>Confirmed pregnancies lost (abortion), then bred again 30 days later.</summary>
    public double AbortionShare { get; set; } = 0.03;
    /// <summary>Share of cows moved to the pasture's next herd at dry-off (pastures with two herds or more).</summary>
    public double HerdMoveAtDryOff { get; set; } = 0.5;
    /// <summary>Days between an animal's vaccinations, per programme (fmd, brucellosis, ppr).</summary>
    public Dictionary<string, int> VaccinationIntervalDays { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["fmd"] = 180,
        ["brucellosis"] = 365,
        ["ppr"] = 365,
    };
    /// <summary>Share of vaccinated animals whose antibodies are tested 28 days later, and the protective share of those.</summary>
    public double AntibodyTestShare { get; set; } = 0.10;
    public double ProtectiveShare { get; set; } = 0.88;
    /// <summary>
    /// Milkings of an animal in its withdrawal period that reach the bulk tank anyway (no <c>MilkedSeparately</c>): the case
    /// the platform must catch. 0.0005 of about 9,000 such milkings gives a city-2023 day a few.
    /// </summary>
    public double WithdrawalMilkToTankShare { get; set; } = 0.0005;
    /// <summary>Colostrum milkings (days 1-7) that reach the tank anyway: about 14,000 a city day, so 0.0003 is a few.</summary>
    public double ColostrumToTankShare { get; set; } = 0.0003;
    /// <summary>Where the figures come from.</summary>
    public Dictionary<string, string> Sources { get; set; } = new(StringComparer.Ordinal)
    {
        ["all"] = "the simulator's assumptions (unverified): domain.md gives no culling, fertility, semen, embryo, calf or vaccination-interval rates",
    };
}

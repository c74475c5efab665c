using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Audit.Kpi;

/// <summary>The KPIs read from the animal registry (issue 17): immunity per animal and breeding against the plan.</summary>
public sealed partial class KpiCalculator
{
    private sealed record PerAnimalHealth(IReadOnlySet<string> Pastures, IReadOnlySet<string> TestedPastures, int InStock, int Immune, int ByVaccination,
        int ByAntibodyTest, int Tested, int Protective);

    /// <summary>
    /// The pastures (of these) that keep per-animal records of the programme (a vaccination or test of it by the day)
    /// and have registered animals, with their immunity at the day's end summed; the others stay on the aggregate.
    /// </summary>
    private async Task<PerAnimalHealth> PerAnimalImmunityAsync(string[] pastureIds, HealthProgramme programme, DateOnly from, DateOnly day,
        CancellationToken cancellationToken)
    {
        var recorded = await animals.PasturesWithImmunisationRecordsAsync(pastureIds, programme.Id, day, cancellationToken);
        var registered = recorded.Count == 0 ? recorded : await animals.PasturesWithAnimalsAsync(recorded, ChinaTime.StartOfDay(day.AddDays(1)), cancellationToken);
        if (registered.Count == 0)
        {
            return new PerAnimalHealth(new HashSet<string>(), new HashSet<string>(), 0, 0, 0, 0, 0, 0);
        }

        var immunity = await animals.ImmunityAsync(registered, new ImmunisationProgramme(programme.Id, programme.ProtectionDays, programme.Species),
            day, from, cancellationToken);
        var all = immunity.Values.ToList();
        return new PerAnimalHealth(registered, all.Where(i => i.Tested > 0).Select(i => i.PastureId).ToHashSet(StringComparer.Ordinal),
            all.Sum(i => i.InStock), all.Sum(i => i.Immune), all.Sum(i => i.ByVaccination), all.Sum(i => i.ByAntibodyTest), all.Sum(i => i.Tested),
            all.Sum(i => i.Protective));
    }

    // The plan (三(一), 实施奶畜种业提升工程): 每年推广使用奶牛优质性控冻精6万支以上 (>= 60,000 doses of quality sexed semen for
    // dairy cows a year), 进口国外高指数种用荷斯坦胚胎500枚 (500 imported high-index Holstein embryos; read as a year's, like the
    // semen it is listed with). Conception rate and calving interval have no figure in the plan: they are shown without
    // a target. Every breeding measure is year to date (1 January to the request's date), from per-animal events only.
    private async Task<List<KpiValue>> BreedingAsync(Scope scope, CancellationToken cancellationToken)
    {
        var date = scope.Request.Date;
        var first = new DateOnly(date.Year, 1, 1);
        var cows = scope.Pastures.Where(p => p.Species == "cow").Select(p => p.Id).ToArray();
        var all = scope.PastureIds;
        var cowFigures = await animals.BreedingAsync(cows, first, date, cancellationToken);
        var allFigures = await animals.BreedingAsync(all, first, date, cancellationToken);
        var span = $"from {Iso(first)} to {Iso(date)} (year to date)";
        const string perAnimal = "From per-animal reproduction events (animal_event): a pasture without them counts nothing, and is in the coverage's silent list.";
        KpiCoverage Of(string what, string[] ids, RegisteredBreeding figures) =>
            Coverage(what, ids, figures.ReportingPastures.ToHashSet(StringComparer.Ordinal));

        var conceptionKnown = allFigures.ServicesChecked;
        return
        [
            Value(scope, "breeding.sexed_semen_doses", cowFigures.Inseminations + cowFigures.NaturalServices + cowFigures.EmbryoTransfers == 0 ? null : cowFigures.SexedSemenInseminations,
                $"artificial inseminations of cows with a sexed-semen straw (isSexedSemen) on cow pastures in {Describe(scope)} {span}; one straw is one dose",
                [new("sexed_semen_inseminations", cowFigures.SexedSemenInseminations, "doses"), new("inseminations", cowFigures.Inseminations, "doses"),
                 new("natural_services", cowFigures.NaturalServices, "services")],
                "Year to date against a year's target: met only when the year's doses reach it. " + perAnimal, coverage: Of("cow pastures (reproduction events)", cows, cowFigures)),
            Value(scope, "breeding.imported_embryos", cowFigures.EmbryoTransfers == 0 && cowFigures.Inseminations == 0 ? null : cowFigures.ImportedEmbryoTransfers,
                $"embryo transfers (inseminationType Implantation) with embryoOrigin imported on cow pastures in {Describe(scope)} {span}",
                [new("imported_embryo_transfers", cowFigures.ImportedEmbryoTransfers, "embryos"), new("embryo_transfers", cowFigures.EmbryoTransfers, "embryos")],
                "The plan's 500 imported embryos are read as a year's (listed with the yearly semen figure). " + perAnimal,
                coverage: Of("cow pastures (reproduction events)", cows, cowFigures)),
            Value(scope, "breeding.conception_rate", Percent(allFigures.ServicesConceived, conceptionKnown),
                $"services (inseminations, natural services, embryo transfers) {span} on pastures in {Describe(scope)} whose animal's next pregnancy check "
                + "found it Pregnant or Multiple / services whose outcome is known × 100; the outcome is the animal's next pregnancy check with a result "
                + "(Empty, Pregnant, Multiple) or its next service (a second service before any check: the first did not hold)",
                [new("services_conceived", allFigures.ServicesConceived, "services"), new("services_with_outcome", conceptionKnown, "services"),
                 new("services_awaiting_check", allFigures.ServicesAwaitingCheck, "services")],
                "The plan sets no figure. Services still awaiting a check are left out (inputs), so a recent service does not lower the rate. " + perAnimal,
                coverage: Of("pastures (reproduction events)", all, allFigures)),
            Value(scope, "breeding.calving_interval",
                allFigures.CalvingIntervals == 0 ? null : allFigures.CalvingIntervalDaysSum / allFigures.CalvingIntervals,
                $"mean days between an animal's calving {span} on pastures in {Describe(scope)} and its previous recorded calving",
                [new("intervals", allFigures.CalvingIntervals, "calvings"), new("calvings", allFigures.Calvings, "calvings"),
                 new("female_calves", allFigures.FemaleCalves, "head"), new("male_calves", allFigures.MaleCalves, "head"),
                 new("abortions", allFigures.Abortions, "abortions")],
                "The plan sets no figure. A first recorded calving has no interval (a bulk import's parity gives no dates). " + perAnimal,
                coverage: Of("pastures (reproduction events)", all, allFigures)),
        ];
    }
}

using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Animals;

/// <summary>
/// What a health or breeding event needs of its animal, pure (docs/animals.md, "Rules"): <see cref="AnimalRules"/>
/// has already required it alive on the sending pasture and the event not older than its newest registry event; here,
/// a reproduction event (heat, insemination, embryo transfer, pregnancy check, abortion) needs a female, and a
/// vaccination or antibody test a programme of the platform's table that is for the animal's species (PPR is for goats:
/// on a cow it is refused). None of them changes the registry's state.
/// </summary>
public static class AnimalCareRules
{
    public static bool TryFollow(AnimalState current, AnimalEventRecord e, out Rejection rejection)
    {
        if (AnimalCareNames.NeedsFemale(e.Event) && current.Sex != "Female")
        {
            rejection = new Rejection(QuarantineReasons.AnimalNotFemale,
                $"animal '{current.EarTag}' is registered as {current.Sex}: a {AnimalCareNames.Name(e.Event).Replace('_', ' ')} is for a female");
            return false;
        }

        rejection = default;
        return true;
    }

    /// <summary>The programme of a vaccination or antibody test must be the platform's and for the pasture's species.</summary>
    public static bool TryProgramme(AnimalEventRecord e, PastureFacts pasture, IImmunisationProgrammes programmes, out Rejection rejection)
    {
        rejection = default;
        if (e.Immunisation is not { } immunisation)
        {
            return true;
        }

        if (programmes.Find(immunisation.Programme) is not { } programme)
        {
            rejection = new Rejection(QuarantineReasons.InvalidField,
                $"programme '{immunisation.Programme}' is not one of the platform's programmes ({string.Join(", ", programmes.All.Select(p => p.Id))})");
            return false;
        }

        var species = AnimalNames.Name(pasture.Species);
        if (!programme.Applies(species))
        {
            rejection = new Rejection(QuarantineReasons.SpeciesMismatch,
                $"programme '{programme.Id}' is for {string.Join(" and ", programme.Species)}s; animal '{e.Animal.Value}' is a {species} (pasture '{pasture.PastureId}')");
            return false;
        }

        return true;
    }
}

/// <summary>
/// Refuses a vaccination or antibody test whose programme the platform does not run, or that is not for the pasture's
/// species, before anything is stored (the second gate of <c>animal_event</c>, beside <see cref="AnimalEventGate"/>).
/// </summary>
public sealed class AnimalProgrammeGate(PastureDirectory pastures, IImmunisationProgrammes programmes) : IAcceptedGate<AnimalEventRecord>
{
    public async Task<IReadOnlyList<(int Index, Rejection Rejection)>> CheckAsync(IReadOnlyList<Accepted<AnimalEventRecord>> records, CancellationToken cancellationToken)
    {
        var rejections = new List<(int, Rejection)>();
        for (var i = 0; i < records.Count; i++)
        {
            if (records[i].Record.Immunisation is null)
            {
                continue;
            }

            var pasture = await pastures.RequireAsync(records[i].Device.OwnerId, cancellationToken);
            if (!AnimalCareRules.TryProgramme(records[i].Record, pasture, programmes, out var rejection))
            {
                rejections.Add((i, rejection));
            }
        }

        return rejections;
    }
}

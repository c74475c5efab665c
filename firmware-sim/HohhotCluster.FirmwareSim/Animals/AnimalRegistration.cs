using System.Globalization;
using Grpc.Core;
using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.Telemetry.Protos.V1;
using Pasture = HohhotCluster.FirmwareSim.Fleet.Pasture;

namespace HohhotCluster.FirmwareSim.Animals;

/// <summary>
/// Registers the fleet's stock with the platform's animal registry (<c>AnimalService.ImportAnimals</c>): every place of
/// every pasture as the generated herd has it, which is the stock a run starts from (its animals change only from the
/// first published day). At most 10,000 rows a call; the import id is stable per profile, seed, pasture and chunk, so a
/// second <c>register</c> is answered <c>unchanged</c>.
/// </summary>
internal static class AnimalRegistration
{
    public const int RowsPerCall = 10_000;

    public sealed record Result(int Registered, int Unchanged, string? NotServed);

    /// <summary>The rows of one pasture's stock as of the day before the run's first published day.</summary>
    public static List<AnimalImport> Rows(Pasture pasture, DateOnly asOfDay)
    {
        var rows = new List<AnimalImport>(pasture.Stock);
        var specie = pasture.Species == AnimalSpecies.Cow ? "Cattle" : "Goat";
        var breed = AnimalLife.Breed(pasture.Species);
        for (var i = 0; i < pasture.Animals.Length; i++)
        {
            ref readonly var animal = ref pasture.Animals[i];
            rows.Add(new AnimalImport
            {
                EarTag = pasture.EarTag(i), Specie = specie, Gender = "Female", Breed = breed, Parity = animal.Parity,
                BirthDate = asOfDay.AddDays(animal.BornDayIndex).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                LactationStatus = LactationStatus(animal), HerdId = pasture.Herds[animal.HerdIndex].Id,
            });
        }
        foreach (var calf in pasture.Calves)
        {
            rows.Add(new AnimalImport
            {
                EarTag = pasture.TagOf(calf.Serial), Specie = specie, Gender = calf.Female ? "Female" : "Male", Breed = breed, Parity = 0,
                BirthDate = asOfDay.AddDays(calf.BornDayIndex).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                HerdId = pasture.Herds[calf.HerdIndex].Id,
            });
        }
        return rows;
    }

    /// <summary>ICAR lactation status of a place: none before the first calving, Fresh in the colostrum days, Lactating, Dry.</summary>
    public static string LactationStatus(in AnimalState animal) =>
        animal.Parity == 0 ? "" : animal.DaysInMilk == 0 ? "Dry" : animal.DaysInMilk <= AnimalLife.ColostrumDays ? "Fresh" : "Lactating";

    public static async Task<Result> ImportAsync(AnimalService.AnimalServiceClient client, FleetModel fleet, DateTimeOffset asOf, CancellationToken cancellationToken)
    {
        var asOfDay = DateOnly.FromDateTime(asOf.ToOffset(TimeSpan.FromHours(8)).DateTime);
        var asOfText = asOf.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
        int registered = 0, unchanged = 0;
        foreach (var pasture in fleet.Pastures)
        {
            var rows = Rows(pasture, asOfDay);
            for (var start = 0; start < rows.Count; start += RowsPerCall)
            {
                var request = new ImportAnimalsRequest
                {
                    PastureId = pasture.Id,
                    ImportId = string.Create(CultureInfo.InvariantCulture, $"hohhot-sim-{fleet.Profile.Name}-{fleet.Seed}-{pasture.Id}-{start / RowsPerCall}"),
                    AsOf = asOfText,
                };
                request.Animals.AddRange(rows.Skip(start).Take(RowsPerCall));
                try
                {
                    var reply = await client.ImportAnimalsAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
                    registered += reply.Registered;
                    unchanged += reply.Unchanged;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
                {
                    return new Result(registered, unchanged, "AnimalService/ImportAnimals not served");
                }
            }
        }
        return new Result(registered, unchanged, null);
    }
}

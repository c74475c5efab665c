using Grpc.Core;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Api;

/// <summary>Registers counties, pastures, herds, plants and devices (idempotent upserts).</summary>
public sealed class RegistryGrpcService(RegistryStore registry, DeviceDirectory directory) : RegistryService.RegistryServiceBase
{
    public override async Task<UpsertRegistryReply> UpsertRegistry(RegistryDocument request, ServerCallContext context)
    {
        var problems = new List<string>();
        var batch = new RegistryBatch
        {
            Counties = request.Counties.Select(c => new CountyRecord
            {
                Id = Id(c.Id, "county", problems),
                Name = c.Name,
                NameZh = c.NameZh,
                City = string.IsNullOrEmpty(c.City) ? "Hohhot" : c.City,
            }).ToList(),
            Pastures = request.Pastures.Select(p => new PastureRecord
            {
                Id = Id(p.Id, "pasture", problems),
                CountyId = Id(p.CountyId, $"pasture {p.Id} county", problems),
                Name = p.Name,
                Species = SpeciesName(p.Species, $"pasture {p.Id}", problems),
                CapacityHead = p.CapacityHead,
                MilkingsPerDay = p.MilkingsPerDay is >= 1 and <= 4 ? p.MilkingsPerDay : 3,
            }).ToList(),
            Herds = request.Herds.Select(h => new HerdRecord
            {
                Id = Id(h.Id, "herd", problems),
                PastureId = Id(h.PastureId, $"herd {h.Id} pasture", problems),
                Name = h.Name,
            }).ToList(),
            Plants = request.Plants.Select(p => new PlantRecord
            {
                Id = Id(p.Id, "plant", problems),
                CountyId = Id(p.CountyId, $"plant {p.Id} county", problems),
                Name = p.Name,
                DailyCapacityT = (decimal)p.DailyCapacityT,
                Species = p.Species == Species.Goat ? "goat" : "cow",
            }).ToList(),
            Devices = request.Devices.Select(d => new DeviceRecord
            {
                Id = Id(d.Id, "device", problems),
                OwnerKind = d.OwnerKind switch
                {
                    Protos.V1.OwnerKind.Pasture => "pasture",
                    Protos.V1.OwnerKind.Plant => "plant",
                    _ => Problem(problems, $"device {d.Id}: owner_kind must be PASTURE or PLANT"),
                },
                OwnerId = Id(d.OwnerId, $"device {d.Id} owner", problems),
                Kind = string.IsNullOrEmpty(d.Kind) ? "unknown" : d.Kind,
                HerdId = string.IsNullOrEmpty(d.HerdId) ? null : d.HerdId,
            }).ToList(),
        };

        if (problems.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, string.Join("; ", problems.Take(20))));
        }

        try
        {
            await registry.UpsertAsync(batch, context.CancellationToken);
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"A record refers to a parent that is neither registered nor in this document ({exception.ConstraintName})."));
        }

        directory.Invalidate();
        return new UpsertRegistryReply
        {
            Counties = batch.Counties.Count,
            Pastures = batch.Pastures.Count,
            Herds = batch.Herds.Count,
            Plants = batch.Plants.Count,
            Devices = batch.Devices.Count,
        };
    }

    private static string Id(string value, string what, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 64 || value.Contains('/') || value.Contains('+') || value.Contains('#'))
        {
            problems.Add($"{what} id '{value}' must be 1-64 characters without '/', '+' or '#'");
        }

        return value;
    }

    private static string SpeciesName(Species species, string what, List<string> problems) => species switch
    {
        Species.Cow => "cow",
        Species.Goat => "goat",
        _ => Problem(problems, $"{what}: species must be COW or GOAT"),
    };

    private static string Problem(List<string> problems, string problem)
    {
        problems.Add(problem);
        return "";
    }
}

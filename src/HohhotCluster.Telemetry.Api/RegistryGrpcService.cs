using HohhotCluster.Telemetry.Contracts;
using System.Globalization;
using System.Text;
using Grpc.Core;
using HohhotCluster.Telemetry.Identity;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;
using Npgsql;
using OrganisationKind = HohhotCluster.Telemetry.Identity.OrganisationKind;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// The registry: upserts (idempotent), paged lists, device deactivation and gateway credentials, each cut to the
/// caller's organisation. The platform operator registers anything; a pasture operator only herds and devices of its
/// own pastures, a processor only devices of its own plants. An upsert never moves a herd or a device to another
/// owner; the operator's <see cref="MoveDevice"/> does that explicitly. A gateway credential belongs to one pasture or
/// plant for good and is managed by its owner's admins (the operator: any); its secret is shown once and stored only
/// as a <see cref="SecretHasher"/> hash.
/// </summary>
public sealed class RegistryGrpcService(RegistryStore registry, DeviceDirectory directory, GatewayCredentialStore gateways, SecretHasher hasher)
    : RegistryService.RegistryServiceBase
{
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    public override async Task<UpsertRegistryReply> UpsertRegistry(RegistryDocument request, ServerCallContext context)
    {
        var caller = context.Caller();
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
                CountyId = Id(p.CountyId, "pasture's county", problems),
                Name = p.Name,
                Species = SpeciesName(p.Species, p.Id, problems),
                CapacityHead = p.CapacityHead,
                MilkingsPerDay = p.MilkingsPerDay is >= 1 and <= 4 ? p.MilkingsPerDay : 3,
            }).ToList(),
            Herds = request.Herds.Select(h => new HerdRecord
            {
                Id = Id(h.Id, "herd", problems),
                PastureId = Id(h.PastureId, "herd's pasture", problems),
                Name = h.Name,
            }).ToList(),
            Plants = request.Plants.Select(p => new PlantRecord
            {
                Id = Id(p.Id, "plant", problems),
                CountyId = Id(p.CountyId, "plant's county", problems),
                Name = p.Name,
                DailyCapacityT = (decimal)p.DailyCapacityT,
                Species = p.Species == Species.Goat ? "goat" : "cow",
            }).ToList(),
            Labs = request.Labs.Select(l => new LabRecord
            {
                Id = Id(l.Id, "lab", problems),
                CountyId = Id(l.CountyId, "lab's county", problems),
                Name = l.Name,
                RegulatorOrg = string.IsNullOrEmpty(l.RegulatorOrg) ? null : l.RegulatorOrg,
            }).ToList(),
            Devices = request.Devices.Select(d => new DeviceRecord
            {
                Id = Id(d.Id, "device", problems),
                OwnerKind = OwnerKindName(d.OwnerKind, d.Id, problems),
                OwnerId = Id(d.OwnerId, "device's owner", problems),
                Kind = string.IsNullOrEmpty(d.Kind) ? "unknown" : d.Kind,
                HerdId = string.IsNullOrEmpty(d.HerdId) ? null : d.HerdId,
            }).ToList(),
        };

        if (problems.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, string.Join("; ", problems.Take(10))));
        }

        RequireOwnership(caller, batch);
        await RequireHerdsOfTheirPastureAsync(batch, context.CancellationToken);
        try
        {
            await registry.UpsertAsync(batch, context.CancellationToken);
        }
        catch (RegistryConflictException conflict)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, conflict.Message));
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
            Labs = batch.Labs.Count,
            Devices = batch.Devices.Count,
        };
    }

    /// <summary>Only the operator registers counties, pastures, plants and labs; others only herds and devices they own.</summary>
    private static void RequireOwnership(Caller caller, RegistryBatch batch)
    {
        if (caller.Kind == OrganisationKind.PlatformOperator)
        {
            return;
        }

        if (batch.Counties.Count > 0 || batch.Pastures.Count > 0 || batch.Plants.Count > 0 || batch.Labs.Count > 0)
        {
            throw Denied("Counties, pastures, plants and labs are registered by the platform operator.");
        }

        foreach (var herd in batch.Herds)
        {
            if (caller.Kind != OrganisationKind.PastureOperator || !caller.OwnsPasture(herd.PastureId))
            {
                throw Denied($"Herd '{Short(herd.Id)}': pasture '{Short(herd.PastureId)}' is not one of your organisation's.");
            }
        }

        foreach (var device in batch.Devices)
        {
            if (!Owns(caller, device.OwnerKind, device.OwnerId))
            {
                throw Denied($"Device '{Short(device.Id)}': {device.OwnerKind} '{Short(device.OwnerId)}' is not one of your organisation's.");
            }
        }
    }

    /// <summary>A device's herd must be a herd of the device's own pasture.</summary>
    private async Task RequireHerdsOfTheirPastureAsync(RegistryBatch batch, CancellationToken cancellationToken)
    {
        var inDocument = batch.Herds.ToDictionary(h => h.Id, h => h.PastureId, StringComparer.Ordinal);
        foreach (var device in batch.Devices)
        {
            if (device.HerdId is not { } herdId)
            {
                continue;
            }

            var pasture = inDocument.TryGetValue(herdId, out var p) ? p : (await registry.FindHerdAsync(herdId, cancellationToken))?.PastureId;
            if (device.OwnerKind != "pasture" || pasture != device.OwnerId)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Device '{Short(device.Id)}': herd '{Short(herdId)}' is not a registered herd of its pasture."));
            }
        }
    }

    public override async Task<CountyPage> ListCounties(RegistryPageRequest request, ServerCallContext context)
    {
        var (rows, next) = await PageAsync(request, "county", page => registry.ListCountiesAsync(page, context.CancellationToken), c => c.Id);
        var reply = new CountyPage { NextPageToken = next };
        reply.Counties.AddRange(rows.Select(c => new County { Id = c.Id, Name = c.Name, NameZh = c.NameZh, City = c.City }));
        return reply;
    }

    public override async Task<PasturePage> ListPastures(RegistryPageRequest request, ServerCallContext context)
    {
        var (rows, next) = await PageAsync(request, "pasture",
            page => registry.ListPasturesAsync(page, Visibility(context.Caller()), context.CancellationToken), p => p.Id);
        var reply = new PasturePage { NextPageToken = next };
        reply.Pastures.AddRange(rows.Select(p => new Pasture
        {
            Id = p.Id,
            CountyId = p.CountyId,
            Name = p.Name,
            Species = SpeciesOf(p.Species),
            CapacityHead = p.CapacityHead,
            MilkingsPerDay = p.MilkingsPerDay,
        }));
        return reply;
    }

    public override async Task<HerdPage> ListHerds(RegistryPageRequest request, ServerCallContext context)
    {
        var (rows, next) = await PageAsync(request, "herd",
            page => registry.ListHerdsAsync(page, Visibility(context.Caller()), context.CancellationToken), h => h.Id);
        var reply = new HerdPage { NextPageToken = next };
        reply.Herds.AddRange(rows.Select(h => new Herd { Id = h.Id, PastureId = h.PastureId, Name = h.Name }));
        return reply;
    }

    public override async Task<LabPage> ListLabs(RegistryPageRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var regulator = caller.Kind == OrganisationKind.Regulator ? caller.OrganisationId : null;
        var (rows, next) = await PageAsync(request, "lab",
            page => registry.ListLabsAsync(page, LabVisibility(caller), regulator, context.CancellationToken), l => l.Id);
        var reply = new LabPage { NextPageToken = next };
        reply.Labs.AddRange(rows.Select(l => new Lab { Id = l.Id, CountyId = l.CountyId, Name = l.Name, RegulatorOrg = l.RegulatorOrg ?? "" }));
        return reply;
    }

    /// <summary>A lab is a regulator's: others than the operator and regulators see none.</summary>
    private static RegistryVisibility LabVisibility(Caller caller) => caller.SeesCity
        ? RegistryVisibility.Everything
        : caller.Kind == OrganisationKind.Regulator
            ? new RegistryVisibility(false, caller.CountyIds, [], [])
            : new RegistryVisibility(false, [], [], []);

    public override async Task<PlantPage> ListPlants(RegistryPageRequest request, ServerCallContext context)
    {
        var (rows, next) = await PageAsync(request, "plant",
            page => registry.ListPlantsAsync(page, Visibility(context.Caller()), context.CancellationToken), p => p.Id);
        var reply = new PlantPage { NextPageToken = next };
        reply.Plants.AddRange(rows.Select(p => new Plant
        {
            Id = p.Id,
            CountyId = p.CountyId,
            Name = p.Name,
            DailyCapacityT = (double)p.DailyCapacityT,
            Species = SpeciesOf(p.Species),
        }));
        return reply;
    }

    public override async Task<DevicePage> ListDevices(RegistryPageRequest request, ServerCallContext context)
    {
        var (rows, next) = await PageAsync(request, "device",
            page => registry.ListDevicesAsync(page, Visibility(context.Caller()), context.CancellationToken), d => d.Id);
        var reply = new DevicePage { NextPageToken = next };
        reply.Devices.AddRange(rows.Select(ToMessage));
        return reply;
    }

    public override async Task<Device> DeactivateDevice(DeactivateDeviceRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var deviceId = Required(request.DeviceId, "device_id");
        var reason = Required(request.Reason, "reason");
        await RequireOwnedDeviceAsync(caller, deviceId, context.CancellationToken);
        var device = await registry.DeactivateDeviceAsync(deviceId, reason, context.CancellationToken) ?? throw NotRegistered("device", deviceId);
        directory.Invalidate();
        return ToMessage(device);
    }

    public override async Task<Device> MoveDevice(MoveDeviceRequest request, ServerCallContext context)
    {
        var deviceId = Required(request.DeviceId, "device_id");
        Required(request.Reason, "reason");
        var ownerId = Required(request.OwnerId, "owner_id");
        var herdId = request.HerdId.Length == 0 ? null : request.HerdId;
        var ownerKind = OwnerKindOf(request.OwnerKind);
        var ownerExists = ownerKind switch
        {
            "pasture" => await registry.FindPastureAsync(ownerId, context.CancellationToken) is not null,
            "lab" => await registry.FindLabAsync(ownerId, context.CancellationToken) is not null,
            _ => await registry.FindPlantAsync(ownerId, context.CancellationToken) is not null,
        };
        if (!ownerExists)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"No {ownerKind} '{Short(ownerId)}' is registered."));
        }

        if (herdId is not null && (ownerKind != "pasture" || (await registry.FindHerdAsync(herdId, context.CancellationToken))?.PastureId != ownerId))
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Herd '{Short(herdId)}' is not a registered herd of the new owner."));
        }

        var device = await registry.MoveDeviceAsync(deviceId, ownerKind, ownerId, herdId, context.CancellationToken) ?? throw NotRegistered("device", deviceId);
        directory.Invalidate();
        return ToMessage(device);
    }

    /// <summary>A device the caller's organisation does not own is answered exactly as a device that does not exist.</summary>
    private async Task RequireOwnedDeviceAsync(Caller caller, string deviceId, CancellationToken cancellationToken)
    {
        var device = await registry.GetDeviceAsync(deviceId, cancellationToken);
        if (device is null || !Owns(caller, device.OwnerKind, device.OwnerId))
        {
            throw NotRegistered("device", deviceId);
        }
    }

    public override async Task<GatewayCredentialIssued> IssueGatewayCredential(IssueGatewayCredentialRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var gatewayId = request.GatewayId;
        if (!IsRegistryId(gatewayId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"gateway_id must be {RegistryIdRule}."));
        }

        var ownerKind = OwnerKindOf(request.OwnerKind);
        var ownerId = Required(request.OwnerId, "owner_id");
        var (secret, generated) = GatewaySecret(request.Password);
        if (!Owns(caller, ownerKind, ownerId))
        {
            throw NotRegistered(ownerKind, ownerId);
        }

        GatewayCredential credential;
        try
        {
            credential = await gateways.CreateAsync(gatewayId, ownerKind, ownerId, hasher.Hash(secret), caller.AccountId, context.CancellationToken);
        }
        catch (GatewayCredentialConflictException)
        {
            // Gateway ids are MQTT usernames, one namespace for the whole platform: a taken one is said to be taken
            // (whoever holds it, never named), and a credential's secret changes only by rotation.
            throw new RpcException(new Status(StatusCode.AlreadyExists,
                $"Gateway id '{Short(gatewayId)}' is taken; choose another, or rotate the secret of your own (RotateGatewayCredential)."));
        }
        catch (UnknownOwnerException)
        {
            throw NotRegistered(ownerKind, ownerId);
        }

        return Issued(credential, generated ? secret : "", changed: true);
    }

    /// <summary>A new secret; with <c>keep_if_current</c>, a password that already verifies changes nothing (for idempotent provisioning).</summary>
    public override async Task<GatewayCredentialIssued> RotateGatewayCredential(RotateGatewayCredentialRequest request, ServerCallContext context)
    {
        var gatewayId = Required(request.GatewayId, "gateway_id");
        var (secret, generated) = GatewaySecret(request.Password);
        if (request.KeepIfCurrent && generated)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "keep_if_current needs a password to compare with."));
        }

        var current = await OwnedGatewayAsync(context.Caller(), gatewayId, context.CancellationToken);
        if (request.KeepIfCurrent && hasher.Verify(current.SecretHash, secret) != SecretCheck.Invalid)
        {
            return Issued(current, "", changed: false);
        }

        var rotated = await gateways.RotateAsync(gatewayId, hasher.Hash(secret), context.CancellationToken) ?? throw NotRegistered(GatewayCredentialWhat, gatewayId);
        return Issued(rotated, generated ? secret : "", changed: true);
    }

    public override async Task<GatewayCredentialInfo> DisableGatewayCredential(DisableGatewayCredentialRequest request, ServerCallContext context)
    {
        var gatewayId = Required(request.GatewayId, "gateway_id");
        var reason = Required(request.Reason, "reason");
        await OwnedGatewayAsync(context.Caller(), gatewayId, context.CancellationToken);
        return ToMessage(await gateways.DisableAsync(gatewayId, reason, context.CancellationToken) ?? throw NotRegistered(GatewayCredentialWhat, gatewayId));
    }

    public override async Task<GatewayCredentialInfo> EnableGatewayCredential(EnableGatewayCredentialRequest request, ServerCallContext context)
    {
        var gatewayId = Required(request.GatewayId, "gateway_id");
        await OwnedGatewayAsync(context.Caller(), gatewayId, context.CancellationToken);
        return ToMessage(await gateways.EnableAsync(gatewayId, context.CancellationToken) ?? throw NotRegistered(GatewayCredentialWhat, gatewayId));
    }

    /// <summary>The credentials of the pastures or plants the caller's organisation holds (the operator: all); disabled ones too.</summary>
    public override async Task<GatewayCredentialPage> ListGatewayCredentials(RegistryPageRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var cancellationToken = context.CancellationToken;
        var (ownerKind, ownerIds) = CredentialOwners(caller);
        var (rows, next) = await PageAsync<GatewayCredential>(request, GatewayCredentialWhat, async page =>
        {
            if (page.Id is { } id)
            {
                var one = await gateways.FindAsync(id, cancellationToken);
                return one is not null && Owns(caller, one.OwnerKind, one.OwnerId) && (page.ParentId is null || page.ParentId == one.OwnerId) ? [one] : [];
            }

            IReadOnlyCollection<string>? owners = ownerIds;
            if (page.ParentId is { } parent)
            {
                owners = ownerIds is null || ownerIds.Contains(parent) ? [parent] : [];
            }

            return await gateways.ListAsync(ownerKind, owners, page.AfterId, page.Size, cancellationToken);
        }, c => c.GatewayId);
        var reply = new GatewayCredentialPage { NextPageToken = next };
        reply.Credentials.AddRange(rows.Select(ToMessage));
        return reply;
    }

    /// <summary>Whose gateway credentials the caller lists: the operator everybody's (null, null), others their own holdings'.</summary>
    private static (string? OwnerKind, IReadOnlyCollection<string>? OwnerIds) CredentialOwners(Caller caller) => caller.Kind switch
    {
        OrganisationKind.PlatformOperator => (null, null),
        OrganisationKind.PastureOperator => ("pasture", caller.PastureIds),
        OrganisationKind.Processor => ("plant", caller.PlantIds),
        _ => ("pasture", []),
    };

    /// <summary>A gateway credential the caller's organisation does not own is answered exactly as one that does not exist.</summary>
    private async Task<GatewayCredential> OwnedGatewayAsync(Caller caller, string gatewayId, CancellationToken cancellationToken)
    {
        var credential = await gateways.FindAsync(gatewayId, cancellationToken);
        return credential is not null && Owns(caller, credential.OwnerKind, credential.OwnerId)
            ? credential
            : throw NotRegistered(GatewayCredentialWhat, gatewayId);
    }

    /// <summary>The secret the caller chose (checked against <see cref="GatewaySecretRule"/>), or a generated one.</summary>
    private static (string Secret, bool Generated) GatewaySecret(string password)
    {
        if (password.Length == 0)
        {
            return (SecretHasher.NewSecret(), true);
        }

        return GatewaySecretRule.Allows(password)
            ? (password, false)
            : throw new RpcException(new Status(StatusCode.InvalidArgument, GatewaySecretRule.Description + "; leave it empty to have one generated."));
    }

    private const string GatewayCredentialWhat = "gateway credential";

    private static GatewayCredentialIssued Issued(GatewayCredential credential, string secret, bool changed) =>
        new() { Credential = ToMessage(credential), Secret = secret, Changed = changed };

    private static GatewayCredentialInfo ToMessage(GatewayCredential c) => new()
    {
        GatewayId = c.GatewayId,
        OwnerKind = OwnerKindMessage(c.OwnerKind),
        OwnerId = c.OwnerId,
        SecretChangedAt = RequestValues.UtcText(c.SecretChangedAt),
        CreatedAt = RequestValues.UtcText(c.CreatedAt),
        CreatedBy = c.CreatedBy,
        DisabledAt = c.DisabledAt is { } at ? RequestValues.UtcText(at) : "",
        DisabledReason = c.DisabledReason ?? "",
    };

    /// <summary>
    /// Whether the caller's organisation owns this pasture or plant (the platform operator owns all). A regulator's
    /// lab, its devices and gateways are managed by the platform operator.
    /// </summary>
    private static bool Owns(Caller caller, string ownerKind, string ownerId) => ownerKind switch
    {
        "pasture" => caller.Kind is OrganisationKind.PlatformOperator or OrganisationKind.PastureOperator && caller.OwnsPasture(ownerId),
        "lab" => caller.Kind == OrganisationKind.PlatformOperator,
        _ => caller.Kind is OrganisationKind.PlatformOperator or OrganisationKind.Processor && caller.OwnsPlant(ownerId),
    };

    private static RegistryVisibility Visibility(Caller caller) => caller.SeesCity
        ? RegistryVisibility.Everything
        : new RegistryVisibility(false, caller.CountyIds, caller.PastureIds, caller.PlantIds);

    /// <summary>
    /// One page of a registry list: one row more than the page is read, to know whether another page follows (its
    /// token is the last shown id). Asked for one id that the caller may not see or that does not exist: NOT_FOUND.
    /// </summary>
    private static async Task<(IReadOnlyList<T> Rows, string NextPageToken)> PageAsync<T>(
        RegistryPageRequest request, string what, Func<RegistryPage, Task<IReadOnlyList<T>>> read, Func<T, string> id)
    {
        var size = request.PageSize switch
        {
            0 => DefaultPageSize,
            < 0 or > MaxPageSize => throw new RpcException(new Status(StatusCode.InvalidArgument, $"page_size must be 1-{MaxPageSize} (0 for {DefaultPageSize}).")),
            _ => request.PageSize,
        };
        string after;
        try
        {
            after = request.PageToken.Length == 0 ? "" : Encoding.UTF8.GetString(Convert.FromBase64String(request.PageToken));
        }
        catch (FormatException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "page_token is not one this service gave out."));
        }

        var rows = await read(new RegistryPage
        {
            Size = size + 1,
            AfterId = after,
            Id = request.Id.Length == 0 ? null : request.Id,
            ParentId = request.ParentId.Length == 0 ? null : request.ParentId,
            IncludeInactive = request.IncludeInactive,
        });
        if (request.Id.Length > 0 && rows.Count == 0)
        {
            throw NotRegistered(what, request.Id);
        }

        return rows.Count <= size
            ? (rows, "")
            : (rows.Take(size).ToList(), Convert.ToBase64String(Encoding.UTF8.GetBytes(id(rows[size - 1]))));
    }

    private static Species SpeciesOf(string species) => species == "goat" ? Species.Goat : Species.Cow;

    private static Device ToMessage(DeviceRecord d) => new()
    {
        Id = d.Id,
        OwnerKind = OwnerKindMessage(d.OwnerKind),
        OwnerId = d.OwnerId,
        Kind = d.Kind,
        HerdId = d.HerdId ?? "",
        DeactivatedAt = d.DeactivatedAt is { } at
            ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : "",
    };

    private static RpcException NotRegistered(string what, string id) =>
        new(new Status(StatusCode.NotFound, $"No {what} '{Short(id)}' is registered that you may see."));

    private static RpcException Denied(string message) => new(new Status(StatusCode.PermissionDenied, message + " Nothing was changed."));

    private static string Required(string value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field} is required.")) : value;

    private static string Short(string text) => TextLimits.Shorten(text, 64);

    private static readonly string RegistryIdRule = $"1-{RegistryIds.MaxLength} characters without '/', '+' or '#'";

    /// <summary>A registry or gateway id: it becomes an MQTT topic level or username, so none of MQTT's separators or wildcards.</summary>
    private static bool IsRegistryId(string value) =>
        !string.IsNullOrWhiteSpace(value) && value.Length <= RegistryIds.MaxLength && !value.Contains('/') && !value.Contains('+') && !value.Contains('#');

    private static string Id(string value, string what, List<string> problems)
    {
        if (!IsRegistryId(value))
        {
            problems.Add($"a {what} id ('{Short(value)}') must be {RegistryIdRule}");
        }

        return value;
    }

    private static string OwnerKindOf(Protos.V1.OwnerKind kind) => kind switch
    {
        Protos.V1.OwnerKind.Pasture => "pasture",
        Protos.V1.OwnerKind.Plant => "plant",
        Protos.V1.OwnerKind.Lab => "lab",
        _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "owner_kind must be PASTURE, PLANT or LAB.")),
    };

    private static Protos.V1.OwnerKind OwnerKindMessage(string ownerKind) => ownerKind switch
    {
        "plant" => Protos.V1.OwnerKind.Plant,
        "lab" => Protos.V1.OwnerKind.Lab,
        _ => Protos.V1.OwnerKind.Pasture,
    };

    private static string OwnerKindName(Protos.V1.OwnerKind kind, string device, List<string> problems) => kind switch
    {
        Protos.V1.OwnerKind.Pasture => "pasture",
        Protos.V1.OwnerKind.Plant => "plant",
        Protos.V1.OwnerKind.Lab => "lab",
        _ => Problem(problems, $"device {Short(device)}: owner_kind must be PASTURE, PLANT or LAB"),
    };

    private static string SpeciesName(Species species, string pasture, List<string> problems) => species switch
    {
        Species.Cow => "cow",
        Species.Goat => "goat",
        _ => Problem(problems, $"pasture {Short(pasture)}: species must be COW or GOAT"),
    };

    private static string Problem(List<string> problems, string problem)
    {
        problems.Add(problem);
        return "";
    }
}

using HohhotCluster.Telemetry.Contracts;
using System.Globalization;
using Grpc.Core;
using HohhotCluster.Telemetry.Identity;
using HohhotCluster.Telemetry.Protos.V1;
using Account = HohhotCluster.Telemetry.Identity.Account;
using AccountKind = HohhotCluster.Telemetry.Identity.AccountKind;
using AccountRole = HohhotCluster.Telemetry.Identity.AccountRole;
using Organisation = HohhotCluster.Telemetry.Identity.Organisation;
using OrganisationKind = HohhotCluster.Telemetry.Identity.OrganisationKind;
using Proto = HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// Organisations, accounts and the access log. The platform operator manages every organisation; an organisation's
/// admin manages its own accounts; anyone changes their own password. An account outside the caller's reach is
/// answered as one that does not exist.
/// </summary>
public sealed class IdentityGrpcService(IdentityStore store, SecretHasher hasher, CallerDirectory callers, AccessLog log)
    : IdentityService.IdentityServiceBase
{
    public override async Task<WhoAmIReply> WhoAmI(WhoAmIRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var account = await store.FindAccountAsync(caller.AccountId, context.CancellationToken) ?? throw NoAccount(caller.AccountId);
        var organisation = await store.GetOrganisationAsync(caller.OrganisationId, context.CancellationToken) ?? throw NoOrganisation(caller.OrganisationId);
        return new WhoAmIReply { Account = ToMessage(account.Account), Organisation = ToMessage(organisation) };
    }

    public override async Task<OrganisationInfo> CreateOrganisation(CreateOrganisationRequest request, ServerCallContext context)
    {
        var kind = KindOf(request.Kind);
        if (request.CityWide && kind != OrganisationKind.Regulator)
        {
            throw Invalid("Only a regulator is city-wide.");
        }

        var id = Slug(request.Id, "id");
        await Conflicts(() => store.CreateOrganisationAsync(new Organisation
        {
            Id = id,
            Kind = kind,
            Name = string.IsNullOrWhiteSpace(request.Name) ? throw Invalid("name is required.") : request.Name,
            CityWide = request.CityWide,
        }, context.CancellationToken));
        if (request.PastureIds.Count + request.PlantIds.Count + request.CountyIds.Count > 0)
        {
            await Conflicts(() => store.AssignHoldingsAsync(id, request.PastureIds, request.PlantIds, request.CountyIds, false, context.CancellationToken));
        }

        return ToMessage(await store.GetOrganisationAsync(id, context.CancellationToken) ?? throw NoOrganisation(id));
    }

    public override async Task<OrganisationList> ListOrganisations(ListOrganisationsRequest request, ServerCallContext context)
    {
        var reply = new OrganisationList();
        reply.Organisations.AddRange((await store.ListOrganisationsAsync(context.CancellationToken)).Select(ToMessage));
        return reply;
    }

    public override async Task<OrganisationInfo> GetOrganisation(GetOrganisationRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var id = request.Id.Length == 0 ? caller.OrganisationId : request.Id;
        if (id != caller.OrganisationId && caller.Kind != OrganisationKind.PlatformOperator)
        {
            throw NoOrganisation(id);
        }

        return ToMessage(await store.GetOrganisationAsync(id, context.CancellationToken) ?? throw NoOrganisation(id));
    }

    public override async Task<OrganisationInfo> AssignHoldings(AssignHoldingsRequest request, ServerCallContext context)
    {
        var id = Slug(request.OrganisationId, "organisation_id");
        await Conflicts(() => store.AssignHoldingsAsync(id, request.PastureIds, request.PlantIds, request.CountyIds, request.Transfer, context.CancellationToken));
        callers.Invalidate();
        return ToMessage(await store.GetOrganisationAsync(id, context.CancellationToken) ?? throw NoOrganisation(id));
    }

    public override async Task<CreateAccountReply> CreateAccount(CreateAccountRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var organisationId = request.OrganisationId.Length == 0 ? caller.OrganisationId : request.OrganisationId;
        RequireReach(caller, organisationId);
        var kind = request.Kind switch
        {
            Proto.AccountKind.User => AccountKind.User,
            Proto.AccountKind.Service => AccountKind.Service,
            _ => throw Invalid("kind must be USER or SERVICE."),
        };
        var role = RoleOf(request.Role) ?? throw Invalid("role must be VIEWER, EDITOR or ADMIN.");
        var generated = request.Password.Length == 0 || kind == AccountKind.Service;
        var secret = generated ? SecretHasher.NewSecret() : CheckPassword(request.Password);
        var account = new Account
        {
            Id = Slug(request.Id, "id"),
            OrganisationId = organisationId,
            Kind = kind,
            Role = role,
            DisplayName = request.DisplayName,
        };
        await Conflicts(() => store.CreateAccountAsync(account, hasher.Hash(secret), context.CancellationToken));
        var created = await store.FindAccountAsync(account.Id, context.CancellationToken) ?? throw NoAccount(account.Id);
        return new CreateAccountReply { Account = ToMessage(created.Account), Secret = generated ? secret : "" };
    }

    public override async Task<AccountList> ListAccounts(ListAccountsRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var organisationId = request.OrganisationId.Length == 0 ? caller.OrganisationId : request.OrganisationId;
        RequireReach(caller, organisationId);
        var reply = new AccountList();
        reply.Accounts.AddRange((await store.ListAccountsAsync(organisationId, context.CancellationToken)).Select(ToMessage));
        return reply;
    }

    public override async Task<AccountInfo> UpdateAccount(UpdateAccountRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var (account, _) = await ReachableAccountAsync(caller, request.Id, context.CancellationToken);
        var role = RoleOf(request.Role);
        bool? disabled = request.HasDisabled ? request.Disabled : null;
        if (account.Id == caller.AccountId && (disabled == true || (role is { } r && r < caller.Role)))
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "An admin does not disable or demote themselves; ask another admin."));
        }

        await store.UpdateAccountAsync(account.Id, role, disabled, context.CancellationToken);
        callers.Invalidate(account.Id);
        return ToMessage((await store.FindAccountAsync(account.Id, context.CancellationToken) ?? throw NoAccount(account.Id)).Account);
    }

    public override async Task<RotateSecretReply> RotateSecret(RotateSecretRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var self = request.AccountId.Length == 0 || request.AccountId == caller.AccountId;
        if (!self && !caller.Has(AccountRole.Admin))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "Only an admin changes another account's secret."));
        }

        // One's own account is always within reach; another's only for an admin of its organisation (or the operator).
        var (account, secretHash) = await ReachableAccountAsync(caller, self ? caller.AccountId : request.AccountId, context.CancellationToken);
        if (self && account.Kind == AccountKind.User && hasher.Verify(secretHash, request.CurrentPassword) == SecretCheck.Invalid)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "current_password is wrong."));
        }

        var generated = request.NewPassword.Length == 0 || account.Kind == AccountKind.Service;
        var secret = generated ? SecretHasher.NewSecret() : CheckPassword(request.NewPassword);
        var changedAt = await store.SetSecretAsync(account.Id, hasher.Hash(secret), context.CancellationToken) ?? throw NoAccount(account.Id);
        callers.Invalidate(account.Id);
        return new RotateSecretReply { Secret = generated ? secret : "", SecretChangedAt = RequestValues.UtcText(changedAt) };
    }

    public override async Task<AccessLogPage> ListAccessLog(ListAccessLogRequest request, ServerCallContext context)
    {
        var limit = request.Limit switch
        {
            0 => 200,
            < 0 or > 5000 => throw Invalid("limit must be 1-5000 (0 for 200)."),
            _ => request.Limit,
        };
        var entries = await log.QueryAsync(new AccessLogQuery
        {
            From = RequestValues.OptionalTime(request.From, "from"),
            To = RequestValues.OptionalTime(request.To, "to"),
            AccountId = RequestValues.OrNull(request.AccountId),
            OrganisationId = RequestValues.OrNull(request.OrganisationId),
            Method = RequestValues.OrNull(request.Method),
            Limit = limit,
        }, context.CancellationToken);
        var reply = new AccessLogPage();
        reply.Entries.AddRange(entries.Select(e => new Proto.AccessLogEntry
        {
            At = RequestValues.UtcText(e.At),
            AccountId = e.AccountId ?? "",
            OrganisationId = e.OrganisationId ?? "",
            Method = e.Method,
            Request = e.Request,
            Status = e.Status,
            Detail = e.Detail,
            DurationMs = e.DurationMs,
            Peer = e.Peer,
        }));
        return reply;
    }

    /// <summary>An organisation's admin reaches its own organisation; the platform operator's admin reaches every one.</summary>
    private static void RequireReach(Caller caller, string organisationId)
    {
        if (organisationId != caller.OrganisationId && caller.Kind != OrganisationKind.PlatformOperator)
        {
            throw NoOrganisation(organisationId);
        }
    }

    private async Task<(Account Account, string SecretHash)> ReachableAccountAsync(Caller caller, string id, CancellationToken cancellationToken)
    {
        var found = id.Length == 0 ? null : await store.FindAccountAsync(id, cancellationToken);
        if (found is not { } account || (account.Account.OrganisationId != caller.OrganisationId && caller.Kind != OrganisationKind.PlatformOperator))
        {
            throw NoAccount(id);
        }

        return account;
    }

    private static async Task Conflicts(Func<Task> change)
    {
        try
        {
            await change();
        }
        catch (IdentityConflictException conflict)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, conflict.Message));
        }
    }

    private static string CheckPassword(string password) =>
        password.Length < SecretHasher.MinimumPasswordLength
            ? throw Invalid($"A password needs at least {SecretHasher.MinimumPasswordLength} characters.")
            : password;

    private static string Slug(string value, string field)
    {
        var slug = value.Trim().ToLowerInvariant();
        return slug.Length is >= 1 and <= 64 && char.IsAsciiLetterOrDigit(slug[0])
               && slug.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-' or '@')
            ? slug
            : throw Invalid($"{field} must be 1-64 lower-case letters, digits, '.', '_', '-' or '@', starting with a letter or digit.");
    }

    private static OrganisationKind KindOf(Proto.OrganisationKind kind) => kind switch
    {
        Proto.OrganisationKind.PastureOperator => OrganisationKind.PastureOperator,
        Proto.OrganisationKind.Processor => OrganisationKind.Processor,
        Proto.OrganisationKind.Regulator => OrganisationKind.Regulator,
        Proto.OrganisationKind.PlatformOperator => OrganisationKind.PlatformOperator,
        _ => throw Invalid("kind must be PASTURE_OPERATOR, PROCESSOR, REGULATOR or PLATFORM_OPERATOR."),
    };

    private static AccountRole? RoleOf(Proto.AccountRole role) => role switch
    {
        Proto.AccountRole.Viewer => AccountRole.Viewer,
        Proto.AccountRole.Editor => AccountRole.Editor,
        Proto.AccountRole.Admin => AccountRole.Admin,
        _ => null,
    };

    private static OrganisationInfo ToMessage(Organisation o)
    {
        var message = new OrganisationInfo
        {
            Id = o.Id,
            Kind = o.Kind switch
            {
                OrganisationKind.PastureOperator => Proto.OrganisationKind.PastureOperator,
                OrganisationKind.Processor => Proto.OrganisationKind.Processor,
                OrganisationKind.Regulator => Proto.OrganisationKind.Regulator,
                _ => Proto.OrganisationKind.PlatformOperator,
            },
            Name = o.Name,
            CityWide = o.CityWide,
            CreatedAt = RequestValues.UtcText(o.CreatedAt),
        };
        message.PastureIds.AddRange(o.PastureIds);
        message.PlantIds.AddRange(o.PlantIds);
        message.CountyIds.AddRange(o.CountyIds);
        return message;
    }

    private static AccountInfo ToMessage(Account a) => new()
    {
        Id = a.Id,
        OrganisationId = a.OrganisationId,
        Kind = a.Kind == AccountKind.User ? Proto.AccountKind.User : Proto.AccountKind.Service,
        Role = a.Role switch
        {
            AccountRole.Viewer => Proto.AccountRole.Viewer,
            AccountRole.Editor => Proto.AccountRole.Editor,
            _ => Proto.AccountRole.Admin,
        },
        DisplayName = a.DisplayName,
        Disabled = a.DisabledAt is not null,
        CreatedAt = RequestValues.UtcText(a.CreatedAt),
        SecretChangedAt = RequestValues.UtcText(a.SecretChangedAt),
    };

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private static RpcException NoAccount(string id) =>
        new(new Status(StatusCode.NotFound, $"No account '{TextLimits.Shorten(id, 64)}' that you may manage."));

    private static RpcException NoOrganisation(string id) =>
        new(new Status(StatusCode.NotFound, $"No organisation '{TextLimits.Shorten(id, 64)}' that you may see."));
}

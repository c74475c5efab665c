using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Identity;

/// <summary>The claims the platform's tokens carry beside the subject.</summary>
public static class TokenClaims
{
    public const string Subject = "sub";
    public const string Organisation = "org";
    public const string OrganisationKind = "org_kind";
    public const string Role = "role";
    public const string IssuedAt = "iat";
}

/// <summary>Why a verified token still does not make a caller.</summary>
public enum CallerRefusal
{
    None,
    UnknownAccount,
    Disabled,
    SecretRotated,
    OrganisationMismatch,
}

/// <summary>
/// Turns a verified token into a <see cref="Caller"/>: the account must exist, be enabled and belong to the token's
/// organisation, and the token must be newer than the account's last secret change. What the organisation holds
/// comes from the database, remembered for <see cref="IdentityOptions.CallerCacheLifetime"/>.
/// </summary>
public sealed class CallerDirectory(IdentityStore store, IOptions<IdentityOptions> options, TimeProvider clock)
{
    private sealed record Entry(Account Account, Organisation Organisation, Caller Caller, DateTimeOffset Expires);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public async ValueTask<(Caller? Caller, CallerRefusal Refusal)> ResolveAsync(ClaimsPrincipal principal, CancellationToken cancellationToken)
    {
        var subject = principal.FindFirstValue(TokenClaims.Subject);
        if (string.IsNullOrEmpty(subject))
        {
            return (null, CallerRefusal.UnknownAccount);
        }

        if (!_entries.TryGetValue(subject, out var entry) || entry.Expires <= clock.GetUtcNow())
        {
            var found = await store.FindAccountAsync(subject, cancellationToken);
            var organisation = found is { } f ? await store.GetOrganisationAsync(f.Account.OrganisationId, cancellationToken) : null;
            if (found is null || organisation is null)
            {
                _entries.TryRemove(subject, out _);
                return (null, CallerRefusal.UnknownAccount);
            }

            entry = new Entry(found.Value.Account, organisation, ToCaller(found.Value.Account, organisation), clock.GetUtcNow() + options.Value.CallerCacheLifetime);
            _entries[subject] = entry;
        }

        if (entry.Account.DisabledAt is not null || entry.Organisation.DeactivatedAt is not null)
        {
            return (null, CallerRefusal.Disabled);
        }

        if (principal.FindFirstValue(TokenClaims.Organisation) != entry.Organisation.Id)
        {
            return (null, CallerRefusal.OrganisationMismatch);
        }

        if (long.TryParse(principal.FindFirstValue(TokenClaims.IssuedAt), out var issuedAt)
            && issuedAt < entry.Account.SecretChangedAt.ToUnixTimeSeconds())
        {
            return (null, CallerRefusal.SecretRotated);
        }

        return (entry.Caller, CallerRefusal.None);
    }

    /// <summary>Forgets what is remembered of an account (after a change to it), or of every account.</summary>
    public void Invalidate(string? accountId = null)
    {
        if (accountId is null)
        {
            _entries.Clear();
        }
        else
        {
            _entries.TryRemove(accountId, out _);
        }
    }

    public static Caller ToCaller(Account account, Organisation organisation) => new()
    {
        AccountId = account.Id,
        OrganisationId = organisation.Id,
        Kind = organisation.Kind,
        Role = account.Role,
        CityWide = organisation.CityWide,
        PastureIds = organisation.PastureIds.ToFrozenSet(StringComparer.Ordinal),
        PlantIds = organisation.PlantIds.ToFrozenSet(StringComparer.Ordinal),
        CountyIds = organisation.CountyIds.ToFrozenSet(StringComparer.Ordinal),
    };
}

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Identity;

/// <summary>
/// A fresh installation has nobody who could create the first account. At start, when no platform operator exists
/// and <see cref="IdentityOptions.BootstrapOperatorPasswordFile"/> names a file, this creates the organisation
/// <c>platform</c> and its admin with the password from that file (the deploy scripts generate it at first start).
/// </summary>
public sealed partial class BootstrapOperator(IdentityStore store, SecretHasher hasher, IOptions<IdentityOptions> options, ILogger<BootstrapOperator> logger)
    : IHostedService
{
    public const string OrganisationId = "platform";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var file = options.Value.BootstrapOperatorPasswordFile;
        if (file.Length == 0 || await store.AnyOrganisationOfKindAsync(OrganisationKind.PlatformOperator, cancellationToken))
        {
            return;
        }

        var password = (await File.ReadAllTextAsync(file, cancellationToken)).Trim();
        if (password.Length < SecretHasher.MinimumPasswordLength)
        {
            throw new InvalidOperationException($"The bootstrap operator password in {file} is shorter than {SecretHasher.MinimumPasswordLength} characters.");
        }

        try
        {
            await store.CreateOrganisationAsync(new Organisation { Id = OrganisationId, Kind = OrganisationKind.PlatformOperator, Name = "Platform operator" }, cancellationToken);
            await store.CreateAccountAsync(new Account
            {
                Id = options.Value.BootstrapOperatorAccount,
                OrganisationId = OrganisationId,
                Kind = AccountKind.User,
                Role = AccountRole.Admin,
                DisplayName = "Platform operator",
            }, hasher.Hash(password), cancellationToken);
            LogCreated(options.Value.BootstrapOperatorAccount);
        }
        catch (IdentityConflictException)
        {
            // Another host created it at the same moment.
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "Created the first platform operator account '{Account}' from the bootstrap password file")]
    private partial void LogCreated(string account);
}

using HohhotCluster.Telemetry.Storage;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace HohhotCluster.Telemetry.Identity;

public static class IdentityServiceCollectionExtensions
{
    /// <summary>The token endpoint path (OAuth 2.0, form-encoded POST).</summary>
    public const string TokenEndpoint = "/connect/token";

    /// <summary>
    /// Identity's schema (migrations 0300-0399), its stores, the embedded OpenIddict token issuer (password and
    /// client credentials grants, JWT access tokens signed with the key of <see cref="IdentityOptions.SigningKeyFile"/>)
    /// and ASP.NET Core's JWT bearer validation. With <see cref="IdentityOptions.Authority"/> set, tokens come from that
    /// OpenID Connect provider instead and the embedded issuer is not registered.
    /// </summary>
    public static IServiceCollection AddTelemetryIdentity(this IServiceCollection services, IConfiguration configuration, bool allowPlaintext)
    {
        var section = configuration.GetSection(IdentityOptions.Section);
        services.AddOptions<IdentityOptions>().Bind(section).ValidateDataAnnotations().ValidateOnStart();
        var options = section.Get<IdentityOptions>() ?? new IdentityOptions();
        services.AddSchemaMigrations(typeof(IdentityStore).Assembly);
        services.AddSingleton<IdentityStore>();
        services.AddSingleton<SecretHasher>();
        services.AddSingleton<CallerDirectory>();
        services.AddSingleton<AccessLog>();
        services.AddHostedService(sp => sp.GetRequiredService<AccessLog>());
        // Pruned with the other tables by storage's retention, kept Identity:AccessLogRetention.
        services.AddRetentionRule(new RetentionRule("access_log",
            "delete from access_log where id in (select id from access_log where at < $1 order by id limit $2)",
            sp => sp.GetRequiredService<IOptions<IdentityOptions>>().Value.AccessLogRetention));
        services.AddHostedService<BootstrapOperator>();

        var external = options.Authority.Length > 0;
        RsaSecurityKey? signingKey = null;
        if (!external)
        {
            if (options.SigningKeyFile.Length == 0)
            {
                throw new InvalidOperationException("Identity:SigningKeyFile is required (the PEM file of the token signing key; created at first start).");
            }

            signingKey = SigningKeyFile.LoadOrCreate(options.SigningKeyFile);
            services.AddOpenIddict().AddServer(server =>
            {
                server.SetIssuer(new Uri(options.Issuer));
                server.SetTokenEndpointUris(TokenEndpoint.TrimStart('/'));
                server.AllowPasswordFlow();
                server.AllowClientCredentialsFlow();
                // People log in with a name and password only: no OAuth client registration for the CLI or the dashboard.
                server.AcceptAnonymousClients();
                server.EnableDegradedMode();
                server.DisableAccessTokenEncryption();
                server.AddSigningKey(signingKey);
                server.AddEphemeralEncryptionKey();
                server.SetAccessTokenLifetime(options.AccessTokenLifetime);
                server.AddEventHandler<OpenIddict.Server.OpenIddictServerEvents.ValidateTokenRequestContext>(handler =>
                    handler.UseScopedHandler<TokenRequestValidator>());
                server.AddEventHandler<OpenIddict.Server.OpenIddictServerEvents.HandleTokenRequestContext>(handler =>
                    handler.UseScopedHandler<TokenRequestHandler>());
                var aspNetCore = server.UseAspNetCore();
                if (allowPlaintext)
                {
                    aspNetCore.DisableTransportSecurityRequirement();
                }
            });
        }

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(jwt =>
        {
            jwt.MapInboundClaims = false;
            jwt.Audience = options.Audience;
            if (external)
            {
                jwt.Authority = options.Authority;
                jwt.RequireHttpsMetadata = true;
            }
            else
            {
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = options.Issuer,
                    ValidAudience = options.Audience,
                    IssuerSigningKey = signingKey,
                    ValidateIssuerSigningKey = true,
                    ClockSkew = TimeSpan.FromSeconds(30),
                    NameClaimType = TokenClaims.Subject,
                    RoleClaimType = TokenClaims.Role,
                };
            }
        });
        services.AddAuthorization();
        return services;
    }
}

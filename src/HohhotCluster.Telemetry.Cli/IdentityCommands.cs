using Grpc.Core;
using Grpc.Net.Client;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Cli;

/// <summary>`hohhot org`, `hohhot user`, `hohhot access-log` and the registry's list, deactivate and move commands.</summary>
internal static class IdentityCommands
{
    public static async Task<int> OrganisationAsync(GrpcChannel channel, string verb, Dictionary<string, string?> options, TextWriter stdout)
    {
        var client = new IdentityService.IdentityServiceClient(channel);
        switch (verb)
        {
            case "list":
                return await CliCommands.PrintAsync(stdout, client.ListOrganisationsAsync(new ListOrganisationsRequest()));
            case "show":
                return await CliCommands.PrintAsync(stdout, client.GetOrganisationAsync(new GetOrganisationRequest { Id = options.GetValueOrDefault("id") ?? "" }));
            case "create":
                var create = new CreateOrganisationRequest
                {
                    Id = CliCommands.Required(options, "id"),
                    Kind = CliCommands.Required(options, "kind") switch
                    {
                        "pasture_operator" => OrganisationKind.PastureOperator,
                        "processor" => OrganisationKind.Processor,
                        "regulator" => OrganisationKind.Regulator,
                        "platform_operator" => OrganisationKind.PlatformOperator,
                        var other => throw Invalid($"--kind must be pasture_operator, processor, regulator or platform_operator, not '{other}'"),
                    },
                    Name = CliCommands.Required(options, "name"),
                    CityWide = options.ContainsKey("city-wide"),
                };
                create.PastureIds.AddRange(List(options, "pastures"));
                create.PlantIds.AddRange(List(options, "plants"));
                create.CountyIds.AddRange(List(options, "counties"));
                return await CliCommands.PrintAsync(stdout, client.CreateOrganisationAsync(create));
            case "assign":
                var assign = new AssignHoldingsRequest { OrganisationId = CliCommands.Required(options, "id"), Transfer = options.ContainsKey("transfer") };
                assign.PastureIds.AddRange(List(options, "pastures"));
                assign.PlantIds.AddRange(List(options, "plants"));
                assign.CountyIds.AddRange(List(options, "counties"));
                return await CliCommands.PrintAsync(stdout, client.AssignHoldingsAsync(assign));
            default:
                throw Invalid($"unknown org command '{verb}': list, show, create or assign");
        }
    }

    public static async Task<int> AccountAsync(GrpcChannel channel, string verb, Dictionary<string, string?> options, TextWriter stdout)
    {
        var client = new IdentityService.IdentityServiceClient(channel);
        switch (verb)
        {
            case "list":
                return await CliCommands.PrintAsync(stdout, client.ListAccountsAsync(new ListAccountsRequest { OrganisationId = options.GetValueOrDefault("org") ?? "" }));
            case "create":
                var service = options.ContainsKey("service");
                var reply = await client.CreateAccountAsync(new CreateAccountRequest
                {
                    OrganisationId = options.GetValueOrDefault("org") ?? "",
                    Id = CliCommands.Required(options, "id"),
                    Kind = service ? AccountKind.Service : AccountKind.User,
                    Role = Role(CliCommands.Required(options, "role")),
                    DisplayName = options.GetValueOrDefault("name") ?? "",
                    Password = !service && options.GetValueOrDefault("password-file") is { } file ? (await File.ReadAllTextAsync(file)).Trim() : "",
                });
                stdout.WriteLine($"created {(service ? "service account" : "user")} {reply.Account.Id} ({reply.Account.Role.ToString().ToLowerInvariant()}) of {reply.Account.OrganisationId}");
                if (reply.Secret.Length > 0)
                {
                    stdout.WriteLine($"{(service ? "client secret" : "password")} (shown once): {reply.Secret}");
                }

                return 0;
            case "disable" or "enable":
                return await CliCommands.PrintAsync(stdout, client.UpdateAccountAsync(new UpdateAccountRequest { Id = CliCommands.Required(options, "id"), Disabled = verb == "disable" }));
            case "role":
                return await CliCommands.PrintAsync(stdout, client.UpdateAccountAsync(new UpdateAccountRequest
                {
                    Id = CliCommands.Required(options, "id"),
                    Role = Role(CliCommands.Required(options, "role")),
                }));
            case "passwd":
                var id = options.GetValueOrDefault("id") ?? "";
                var rotated = await client.RotateSecretAsync(new RotateSecretRequest
                {
                    AccountId = id,
                    CurrentPassword = id.Length == 0 ? Environment.GetEnvironmentVariable("HOHHOT_PASSWORD") ?? "" : "",
                    NewPassword = options.GetValueOrDefault("password-file") is { } newFile ? (await File.ReadAllTextAsync(newFile)).Trim() : "",
                });
                stdout.WriteLine(rotated.Secret.Length > 0 ? $"new secret (shown once): {rotated.Secret}" : $"password changed at {rotated.SecretChangedAt}");
                return 0;
            default:
                throw Invalid($"unknown user command '{verb}': list, create, disable, enable, role or passwd");
        }
    }

    public static Task<int> AccessLogAsync(GrpcChannel channel, Dictionary<string, string?> options, TextWriter stdout) =>
        CliCommands.PrintAsync(stdout, new IdentityService.IdentityServiceClient(channel).ListAccessLogAsync(new ListAccessLogRequest
        {
            AccountId = options.GetValueOrDefault("account") ?? "",
            Method = options.GetValueOrDefault("method") ?? "",
            From = options.GetValueOrDefault("from") ?? "",
            To = options.GetValueOrDefault("to") ?? "",
            Limit = int.TryParse(options.GetValueOrDefault("limit"), out var limit) ? limit : 0,
        }));

    public static async Task<int> RegistryListAsync(GrpcChannel channel, string what, Dictionary<string, string?> options, TextWriter stdout)
    {
        var client = new RegistryService.RegistryServiceClient(channel);
        var request = new RegistryPageRequest
        {
            Id = options.GetValueOrDefault("id") ?? "",
            ParentId = options.GetValueOrDefault("parent") ?? "",
            PageSize = int.TryParse(options.GetValueOrDefault("page-size"), out var size) ? size : 0,
        };
        do
        {
            var (page, next, ids) = what switch
            {
                "counties" => await Page(client.ListCountiesAsync(request), p => p.NextPageToken, p => p.Counties.Select(c => c.Id)),
                "pastures" => await Page(client.ListPasturesAsync(request), p => p.NextPageToken, p => p.Pastures.Select(c => c.Id)),
                "herds" => await Page(client.ListHerdsAsync(request), p => p.NextPageToken, p => p.Herds.Select(c => c.Id)),
                "plants" => await Page(client.ListPlantsAsync(request), p => p.NextPageToken, p => p.Plants.Select(c => c.Id)),
                "labs" => await Page(client.ListLabsAsync(request), p => p.NextPageToken, p => p.Labs.Select(c => c.Id)),
                "devices" => await Page(client.ListDevicesAsync(request), p => p.NextPageToken, p => p.Devices.Select(c => c.Id)),
                _ => throw Invalid($"registry list takes counties, pastures, herds, plants, labs or devices, not '{what}'"),
            };
            if (options.ContainsKey("ids"))
            {
                foreach (var id in ids)
                {
                    stdout.WriteLine(id);
                }
            }
            else
            {
                stdout.WriteLine(new Google.Protobuf.JsonFormatter(Google.Protobuf.JsonFormatter.Settings.Default.WithIndentation()).Format(page));
            }

            request.PageToken = next;
        }
        while (options.ContainsKey("all-pages") && request.PageToken.Length > 0);

        return 0;
    }

    public static Task<int> RegistryChangeAsync(GrpcChannel channel, string verb, Dictionary<string, string?> options, TextWriter stdout)
    {
        var client = new RegistryService.RegistryServiceClient(channel);
        return verb == "deactivate"
            ? CliCommands.PrintAsync(stdout, client.DeactivateDeviceAsync(new DeactivateDeviceRequest
            {
                DeviceId = CliCommands.Required(options, "device"),
                Reason = CliCommands.Required(options, "reason"),
            }))
            : CliCommands.PrintAsync(stdout, client.MoveDeviceAsync(new MoveDeviceRequest
            {
                DeviceId = CliCommands.Required(options, "device"),
                OwnerKind = CliCommands.Required(options, "owner-kind") switch
                {
                    "plant" => OwnerKind.Plant,
                    "lab" => OwnerKind.Lab,
                    _ => OwnerKind.Pasture,
                },
                OwnerId = CliCommands.Required(options, "owner"),
                HerdId = options.GetValueOrDefault("herd") ?? "",
                Reason = CliCommands.Required(options, "reason"),
            }));
    }

    private static async Task<(Google.Protobuf.IMessage Page, string Next, IEnumerable<string> Ids)> Page<T>(
        AsyncUnaryCall<T> call, Func<T, string> next, Func<T, IEnumerable<string>> ids)
        where T : Google.Protobuf.IMessage
    {
        var page = await call;
        return (page, next(page), ids(page));
    }

    private static AccountRole Role(string role) => role switch
    {
        "viewer" => AccountRole.Viewer,
        "editor" => AccountRole.Editor,
        "admin" => AccountRole.Admin,
        _ => throw Invalid($"--role must be viewer, editor or admin, not '{role}'"),
    };

    private static string[] List(Dictionary<string, string?> options, string name) =>
        options.GetValueOrDefault(name) is { } value ? value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}

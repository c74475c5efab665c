using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Cli;

/// <summary>`hohhot gateway`: the MQTT credentials of pasture and plant gateways (issue, rotate, disable, enable, list, import).</summary>
internal static class GatewayCommands
{
    private const int ListPageSize = 1000;

    /// <param name="argument">The word after the verb: the gateway id, or the file of <c>import</c>.</param>
    public static async Task<int> RunAsync(GrpcChannel channel, string verb, string? argument, Dictionary<string, string?> options, TextWriter stdout, TextWriter stderr)
    {
        var client = new RegistryService.RegistryServiceClient(channel);
        switch (verb)
        {
            case "issue":
                var (ownerKind, ownerId) = (options.GetValueOrDefault("pasture"), options.GetValueOrDefault("plant"), options.GetValueOrDefault("lab")) switch
                {
                    ({ } pasture, null, null) => (OwnerKind.Pasture, pasture),
                    (null, { } plant, null) => (OwnerKind.Plant, plant),
                    (null, null, { } lab) => (OwnerKind.Lab, lab),
                    _ => throw Invalid("gateway issue needs one of --pasture ID, --plant ID or --lab ID"),
                };
                var issueSecret = await ChosenSecretAsync(options);
                var issued = await client.IssueGatewayCredentialAsync(new IssueGatewayCredentialRequest
                {
                    GatewayId = GatewayId(argument, verb),
                    OwnerKind = ownerKind,
                    OwnerId = ownerId,
                    Password = issueSecret,
                });
                stdout.WriteLine($"issued gateway {issued.Credential.GatewayId} for {Describe(issued.Credential)}");
                await HandOverAsync(issued, options, stdout);
                return 0;
            case "rotate":
                var rotateSecret = await ChosenSecretAsync(options);
                var rotated = await client.RotateGatewayCredentialAsync(new RotateGatewayCredentialRequest
                {
                    GatewayId = GatewayId(argument, verb),
                    Password = rotateSecret,
                });
                stdout.WriteLine($"rotated the secret of gateway {rotated.Credential.GatewayId} at {rotated.Credential.SecretChangedAt}");
                await HandOverAsync(rotated, options, stdout);
                return 0;
            case "disable":
                return await CliCommands.PrintAsync(stdout, client.DisableGatewayCredentialAsync(new DisableGatewayCredentialRequest
                {
                    GatewayId = GatewayId(argument, verb),
                    Reason = CliCommands.Required(options, "reason"),
                }));
            case "enable":
                return await CliCommands.PrintAsync(stdout, client.EnableGatewayCredentialAsync(new EnableGatewayCredentialRequest { GatewayId = GatewayId(argument, verb) }));
            case "list":
                return await ListAsync(client, options, stdout);
            case "import":
                return await ImportAsync(client, argument ?? throw Invalid("gateway import needs a FILE"), stdout, stderr);
            default:
                throw Invalid($"unknown gateway command '{verb}': issue, rotate, disable, enable, list or import");
        }
    }

    private static string GatewayId(string? argument, string verb) => argument ?? throw Invalid($"gateway {verb} needs a GATEWAY_ID");

    /// <summary>The secret of --secret-file (trimmed), or empty for the platform to generate one.</summary>
    private static async Task<string> ChosenSecretAsync(Dictionary<string, string?> options)
    {
        if (options.GetValueOrDefault("secret-file") is not { } file)
        {
            return "";
        }

        if (options.ContainsKey("out"))
        {
            throw Invalid("--out keeps a generated secret; with --secret-file the secret is already in that file");
        }

        return (await File.ReadAllTextAsync(file)).Trim();
    }

    /// <summary>A generated secret goes to --out (only its owner may read it) or, once, to standard output.</summary>
    private static async Task HandOverAsync(GatewayCredentialIssued reply, Dictionary<string, string?> options, TextWriter stdout)
    {
        if (reply.Secret.Length == 0)
        {
            stdout.WriteLine("secret: the one given (stored only as a hash)");
            return;
        }

        if (options.GetValueOrDefault("out") is { } path)
        {
            await WritePrivateFileAsync(path, reply.Secret + "\n");
            stdout.WriteLine($"secret written to {path} (mode 600); it is not shown again");
            return;
        }

        stdout.WriteLine($"secret (shown once): {reply.Secret}");
    }

    private static async Task WritePrivateFileAsync(string path, string content)
    {
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            fileOptions.UnixCreateMode = ownerOnly;
            if (File.Exists(path))
            {
                // An existing file keeps its mode when it is overwritten: narrow it before the secret goes in.
                File.SetUnixFileMode(path, ownerOnly);
            }
        }

        await using var stream = new FileStream(path, fileOptions);
        await using var writer = new StreamWriter(stream);
        await writer.WriteAsync(content);
    }

    private static async Task<int> ListAsync(RegistryService.RegistryServiceClient client, Dictionary<string, string?> options, TextWriter stdout)
    {
        var credentials = await ListAllAsync(client, options.GetValueOrDefault("pasture") ?? options.GetValueOrDefault("plant"));
        if (options.ContainsKey("json"))
        {
            var page = new GatewayCredentialPage();
            page.Credentials.AddRange(credentials);
            stdout.WriteLine(new JsonFormatter(JsonFormatter.Settings.Default.WithIndentation()).Format(page));
            return 0;
        }

        stdout.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-32} {1,-36} {2,-26} {3}", "gateway", "owner", "secret changed", "state"));
        foreach (var c in credentials)
        {
            var state = c.DisabledAt.Length == 0 ? "enabled" : $"disabled {c.DisabledAt}: {c.DisabledReason}";
            stdout.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-32} {1,-36} {2,-26} {3}", c.GatewayId, Describe(c), c.SecretChangedAt, state));
        }

        return 0;
    }

    private static async Task<List<GatewayCredentialInfo>> ListAllAsync(RegistryService.RegistryServiceClient client, string? ownerId)
    {
        var request = new RegistryPageRequest { PageSize = ListPageSize, ParentId = ownerId ?? "" };
        var all = new List<GatewayCredentialInfo>();
        do
        {
            var page = await client.ListGatewayCredentialsAsync(request);
            all.AddRange(page.Credentials);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);

        return all;
    }

    /// <summary>
    /// Provisions a fleet from a file of <see cref="GatewayImportLine"/>s: a gateway not yet issued is issued with its
    /// secret, one whose secret differs is rotated to it, one whose secret already verifies is left alone. The file
    /// is read whole first, so a malformed line changes nothing; a line the platform refuses is reported and the rest
    /// go on. Exit code 1 when any line failed.
    /// </summary>
    private static async Task<int> ImportAsync(RegistryService.RegistryServiceClient client, string path, TextWriter stdout, TextWriter stderr)
    {
        IReadOnlyList<GatewayImportLine> lines;
        try
        {
            lines = GatewayImportLine.ParseAll(await File.ReadAllLinesAsync(path));
        }
        catch (FormatException exception)
        {
            stderr.WriteLine($"{path}: {exception.Message}; nothing was changed");
            return 2;
        }

        var existing = (await ListAllAsync(client, null)).ToDictionary(c => c.GatewayId, StringComparer.Ordinal);
        int issued = 0, rotated = 0, unchanged = 0, failed = 0;
        foreach (var line in lines)
        {
            try
            {
                if (!existing.TryGetValue(line.GatewayId, out var current))
                {
                    await client.IssueGatewayCredentialAsync(new IssueGatewayCredentialRequest
                    {
                        GatewayId = line.GatewayId,
                        OwnerKind = line.OwnerKind,
                        OwnerId = line.OwnerId,
                        Password = line.Secret,
                    });
                    issued++;
                }
                else if (current.OwnerKind != line.OwnerKind || current.OwnerId != line.OwnerId)
                {
                    stderr.WriteLine($"line {line.Number}: gateway {line.GatewayId} belongs to {Describe(current)}, not {OwnerKindWord(line.OwnerKind)} {line.OwnerId}; a gateway never moves");
                    failed++;
                }
                else if ((await client.RotateGatewayCredentialAsync(new RotateGatewayCredentialRequest
                         {
                             GatewayId = line.GatewayId,
                             Password = line.Secret,
                             KeepIfCurrent = true,
                         })).Changed)
                {
                    rotated++;
                }
                else
                {
                    unchanged++;
                }
            }
            catch (RpcException exception) when (exception.StatusCode is not (StatusCode.Unauthenticated or StatusCode.Unavailable))
            {
                stderr.WriteLine($"line {line.Number}: gateway {line.GatewayId}: {exception.StatusCode}: {exception.Status.Detail}");
                failed++;
            }
        }

        stdout.WriteLine($"gateways: {issued} issued, {rotated} rotated, {unchanged} unchanged, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    private static string Describe(GatewayCredentialInfo credential) => $"{OwnerKindWord(credential.OwnerKind)} {credential.OwnerId}";

    private static string OwnerKindWord(OwnerKind kind) => kind switch
    {
        OwnerKind.Plant => "plant",
        OwnerKind.Lab => "lab",
        _ => "pasture",
    };

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}

/// <summary>
/// A line of a <c>hohhot gateway import</c> file: <c>GATEWAY_ID OWNER_KIND OWNER_ID SECRET</c>, separated by spaces
/// or tabs, OWNER_KIND <c>pasture</c>, <c>plant</c> or <c>lab</c>. Blank lines and lines starting with <c>#</c> are skipped.
/// </summary>
internal sealed record GatewayImportLine(int Number, string GatewayId, OwnerKind OwnerKind, string OwnerId, string Secret)
{
    private static readonly char[] Separators = [' ', '\t'];

    /// <summary>The line (numbered from 1), or null for a blank line or a comment; FormatException naming the line otherwise (never its secret).</summary>
    public static GatewayImportLine? Parse(string text, int number)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0 || trimmed[0] == '#')
        {
            return null;
        }

        var fields = trimmed.Split(Separators, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 4)
        {
            throw new FormatException($"line {number}: expected GATEWAY_ID OWNER_KIND OWNER_ID SECRET, found {fields.Length} fields");
        }

        var ownerKind = fields[1] switch
        {
            "pasture" => OwnerKind.Pasture,
            "plant" => OwnerKind.Plant,
            "lab" => OwnerKind.Lab,
            _ => throw new FormatException($"line {number}: OWNER_KIND must be pasture, plant or lab"),
        };
        return new GatewayImportLine(number, fields[0], ownerKind, fields[2], fields[3]);
    }

    /// <summary>Every line of a file; a gateway named twice is refused, since its secret would be ambiguous.</summary>
    public static IReadOnlyList<GatewayImportLine> ParseAll(IReadOnlyList<string> lines)
    {
        var parsed = new List<GatewayImportLine>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Count; i++)
        {
            if (Parse(lines[i], i + 1) is not { } line)
            {
                continue;
            }

            if (!seen.TryAdd(line.GatewayId, line.Number))
            {
                throw new FormatException($"line {line.Number}: gateway {line.GatewayId} is already on line {seen[line.GatewayId]}");
            }

            parsed.Add(line);
        }

        return parsed;
    }
}

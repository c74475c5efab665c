using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Cli;

/// <summary>The <c>hohhot</c> command line: every command is one gRPC call, printed as a table or as JSON.</summary>
public static class CliCommands
{
    private const string Usage = """
        usage: hohhot <command> [options]

        commands:
          throughput [--date YYYY-MM-DD] [--scope city|county|plant|pasture] [--id ID] [--json]
                     daily fresh-milk throughput (China Standard Time day; default today) against the plan's goals
          registry upsert --file registry.json
                     register counties, pastures, herds, plants, labs and devices (protobuf JSON of RegistryDocument)
          health     the platform's health (PostgreSQL, InfluxDB, MQTT)
          trace back --lot PRODUCT_LOT_ID          where a product lot's milk came from (JSON)
          trace back --tanker-load ID              a tanker load's pastures and its road: temperatures per compartment,
                                                   minutes above 7 °C, route time, distance (JSON)
          trace forward --bulk-tank-lot ID | --tanker-load ID | --sample ID
                                                   every lot a source's milk reached, with kg and share (JSON)
          trace recall --sample ID | --silo-batch ID | --line-run PRODUCT_LOT
                                                   product lots a recall holds, whole, with the suspect milk's share (JSON)
          trace import --file EPCIS.json            import a GS1 EPCIS 2.0 document (events at your own plants; JSON)
          trace mass-balance --plant ID --date YYYY-MM-DD
                                                   a plant-day's mass balance with flagged loads (JSON)
          trace declare-recall --lot PRODUCT_LOT --reason TEXT
                                                   declare a recall (EPCIS exports it as recalled; JSON)
          audit pass-rates [--scope city|county|pasture|plant|tanker] [--id ID] [--from D] [--to D] [--item I]
          audit csv --out FILE [same options]      the audit report as CSV for a spreadsheet
          kpi [--county ID | --pasture ID] [--date YYYY-MM-DD] [--from D] [--to D]
                                                   the plan's targets measured from the data, with coverage (JSON)
          alerts [--open]                          alerts, newest first (JSON)
          animals immunisations --tag EAR_TAG [--programme fmd|brucellosis|ppr] [--date YYYY-MM-DD]
                                                   an animal's vaccinations and antibody tests, and its immunity per programme (JSON)
          animals unprotected --pasture ID --programme fmd|brucellosis|ppr [--date YYYY-MM-DD] [--page-size N] [--page-token T]
                                                   a pasture's animals without valid immunity at the day's end (JSON)
          feeding day --pasture ID | --herd ID [--date YYYY-MM-DD]
                                                   TMR feeding of a pasture's herds (or one herd) on a local day (JSON)
          feeding stocks --pasture ID [--date YYYY-MM-DD]
                                                   a pasture's feed stores with each feed's days of use (JSON)
          animals milk --tag EARTAG [--from YYYY-MM-DD] [--to YYYY-MM-DD]
                                                   one animal's milk per China day, saleable and kept-out apart (JSON)
          animals milk --tag EARTAG --lactation [--parity N]
                                                   a lactation curve: days in milk -> kg (the current one without --parity)
          animals milk --pasture ID | --herd ID [--from YYYY-MM-DD] [--to YYYY-MM-DD]
                                                   a pasture's or herd's milk per day and kg per cow in milk (JSON)
          series --metric milk|bulk-tank-temperature|bulk-tank-volume|plant-intake|tmr-loaded
                 --pasture ID | --herd ID | --plant ID [--tank ID] --from RFC3339 [--to RFC3339] --interval 15m|1h|1d
                 [--aggregation sum|mean|min|max] [--json]
                                                   a time series for a chart, with the retention policy it was read from and why
          alerts ack --id N | alerts assign --id N --to ACCOUNT | alerts resolve --id N --note TEXT
                                                   the alert workflow (JSON of the alert after the step)
          alerts history --id N                    an alert and who acknowledged, assigned and resolved it when (JSON)
          alerts subscribe --channel webhook|email --target URL|ADDRESS [--secret-file FILE] [--kinds K1,K2]
                     [--min-severity info|warning|critical] [--escalate-after-minutes N]
                                                   notify your organisation of its alerts (webhook signed with the secret)
          alerts subscriptions | alerts unsubscribe --id N
          reports download --kind audit|kpi [--scope city|county|pasture|plant --id ID] --from D --to D
                     [--format xlsx|csv] [--table pass_rates|failing_samples|kpis] [--out FILE]
                                                   a report of your organisation for a past period, now (docs/reports.md)
          reports schedule --kind audit|kpi [--scope .. --id ..] --cadence daily|weekly [--hour 0-23] [--weekday 1-7]
                     [--formats xlsx,csv] [--webhook URL --secret-file FILE] [--email A,B]
                                                   a scheduled report, written to the report folder and delivered
          reports schedules | reports unschedule --id N
          reports run --schedule N --from D --to D re-run a schedule's report for a past period (JSON of the run)
          reports runs [--schedule N] [--limit N]  runs with their files, digests and deliveries (JSON)

        identity:
          login --user NAME [--password-file FILE]  log in (password from the file, $HOHHOT_PASSWORD or standard input);
                                                   the token is kept in ~/.config/hohhot/token for the other commands
          login --client-id ID [--secret-file FILE] log in as a service account (secret from the file or $HOHHOT_CLIENT_SECRET)
          token                                    print the current token (for scripts: export HOHHOT_TOKEN=$(hohhot token))
          whoami                                   the account and organisation the token stands for
          org list | org show [--id ORG]
          org create --id ORG --kind pasture_operator|processor|regulator|platform_operator --name NAME
                     [--pastures P1,P2] [--plants PL1] [--counties C1] [--city-wide]
          org assign --id ORG [--pastures ..] [--plants ..] [--counties ..] [--transfer]
          user list [--org ORG]
          user create --id NAME --role viewer|editor|admin [--org ORG] [--service] [--name "Display name"] [--password-file FILE]
          user disable --id NAME | user enable --id NAME | user role --id NAME --role ROLE
          user passwd [--id NAME] [--password-file FILE]   change a password (your own, or as an admin); a new secret for a service
          access-log [--account A] [--method M] [--from T] [--to T] [--limit N]
          registry list counties|pastures|herds|plants|labs|devices [--id ID] [--parent ID] [--page-size N] [--all-pages] [--ids]
          registry deactivate --device ID --reason TEXT
          registry move --device ID --owner-kind pasture|plant --owner ID [--herd ID] --reason TEXT

        gateways (MQTT login: username = gateway id, password = its secret, stored only as a hash):
          gateway issue GATEWAY_ID --pasture ID | --plant ID | --lab ID [--secret-file FILE | --out FILE]
                     a credential for a gateway of your pasture or plant; without --secret-file a secret is generated,
                     printed once or written to --out FILE (mode 600); a given secret is 24-256 printable ASCII characters
          gateway rotate GATEWAY_ID [--secret-file FILE | --out FILE]   a new secret (a disabled gateway stays disabled)
          gateway disable GATEWAY_ID --reason TEXT | gateway enable GATEWAY_ID
          gateway list [--pasture ID | --plant ID] [--json]             your gateways, disabled ones too
          gateway import FILE
                     provision a fleet: each line GATEWAY_ID pasture|plant OWNER_ID SECRET (# comments); issues the
                     new, rotates those with another secret, leaves those whose secret is current; prints the counts

        common options:
          --api URL    the platform's API (default $HOHHOT_API or https://127.0.0.1:15080)
          --ca FILE    the platform's CA certificate (default $HOHHOT_CA)
          --token T    a bearer token (default $HOHHOT_TOKEN, else the one `hohhot login` kept)
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        Dictionary<string, string?> options;
        try
        {
            options = ParseOptions(args.AsSpan(1));
        }
        catch (ArgumentException exception)
        {
            stderr.WriteLine(exception.Message);
            return 2;
        }

        var session = Session.Load();
        var api = options.GetValueOrDefault("api") ?? Environment.GetEnvironmentVariable("HOHHOT_API") ?? session?.Api ?? "https://127.0.0.1:15080";
        var ca = options.GetValueOrDefault("ca") ?? Environment.GetEnvironmentVariable("HOHHOT_CA") ?? session?.Ca;
        var token = options.GetValueOrDefault("token") ?? Environment.GetEnvironmentVariable("HOHHOT_TOKEN")
            ?? (session is not null && session.Api == api ? session.Token : "");
        using var connection = new PlatformConnection(api, new PlatformCredential.Token(token ?? ""), ca);
        var channel = connection.Channel;
        try
        {
            return args[0] switch
            {
                "login" => await LoginAsync(api, ca, options, stdout),
                "token" => PrintToken(token, stdout, stderr),
                "whoami" => await PrintAsync(stdout, new IdentityService.IdentityServiceClient(channel).WhoAmIAsync(new WhoAmIRequest())),
                "org" when args.Length > 1 => await IdentityCommands.OrganisationAsync(channel, args[1], options, stdout),
                "user" when args.Length > 1 => await IdentityCommands.AccountAsync(channel, args[1], options, stdout),
                "access-log" => await IdentityCommands.AccessLogAsync(channel, options, stdout),
                "registry" when args.Length > 2 && args[1] == "list" => await IdentityCommands.RegistryListAsync(channel, args[2], options, stdout),
                "registry" when args.Length > 1 && args[1] is "deactivate" or "move" => await IdentityCommands.RegistryChangeAsync(channel, args[1], options, stdout),
                "gateway" when args.Length > 1 => await GatewayCommands.RunAsync(
                    channel, args[1], args.Length > 2 && !args[2].StartsWith("--", StringComparison.Ordinal) ? args[2] : null, options, stdout, stderr),
                "throughput" => await ThroughputAsync(channel, options, stdout),
                "registry" when args.Length > 1 && args[1] == "upsert" => await RegistryUpsertAsync(channel, options, stdout, stderr),
                "health" => await HealthAsync(connection.AnonymousChannel(), stdout),
                "trace" when args.Length > 1 => await TraceAsync(channel, args[1], options, stdout),
                "audit" when args.Length > 1 && args[1] == "pass-rates" =>
                    await PrintAsync(stdout, new AuditService.AuditServiceClient(channel).GetPassRatesAsync(AuditQueryOf(options))),
                "audit" when args.Length > 1 && args[1] == "csv" => await AuditCsvAsync(channel, options, stdout),
                "kpi" => await PrintAsync(stdout, new KpiService.KpiServiceClient(channel).GetKpisAsync(new GetKpisRequest
                {
                    CountyId = options.GetValueOrDefault("county") ?? "",
                    PastureId = options.GetValueOrDefault("pasture") ?? "",
                    LocalDate = options.GetValueOrDefault("date") ?? "",
                    FromDate = options.GetValueOrDefault("from") ?? "",
                    ToDate = options.GetValueOrDefault("to") ?? "",
                })),
                "feeding" when args.Length > 1 && args[1] == "day" => await PrintAsync(stdout, new FeedingService.FeedingServiceClient(channel).GetDailyFeedingAsync(new GetDailyFeedingRequest
                {
                    PastureId = options.GetValueOrDefault("pasture") ?? "",
                    HerdId = options.GetValueOrDefault("herd") ?? "",
                    LocalDate = options.GetValueOrDefault("date") ?? "",
                })),
                "feeding" when args.Length > 1 && args[1] == "stocks" => await PrintAsync(stdout, new FeedingService.FeedingServiceClient(channel).ListFeedStocksAsync(new ListFeedStocksRequest
                {
                    PastureId = options.GetValueOrDefault("pasture") ?? "",
                    LocalDate = options.GetValueOrDefault("date") ?? "",
                })),
                "reports" when args.Length > 1 => await ReportCommands.RunAsync(channel, args[1], options, stdout),
                "series" => await SeriesCommands.RunAsync(channel, options, stdout),
                "animals" when args.Length > 1 && args[1] == "immunisations" => await PrintAsync(stdout,
                    new AnimalHealthService.AnimalHealthServiceClient(channel).ListImmunisationsAsync(new ListImmunisationsRequest
                    {
                        EarTag = Required(options, "tag"), Programme = options.GetValueOrDefault("programme") ?? "", LocalDate = options.GetValueOrDefault("date") ?? "",
                    })),
                "animals" when args.Length > 1 && args[1] == "unprotected" => await PrintAsync(stdout,
                    new AnimalHealthService.AnimalHealthServiceClient(channel).ListWithoutValidImmunityAsync(new ListWithoutValidImmunityRequest
                    {
                        PastureId = Required(options, "pasture"), Programme = Required(options, "programme"), LocalDate = options.GetValueOrDefault("date") ?? "",
                        PageSize = int.Parse(options.GetValueOrDefault("page-size") ?? "0", System.Globalization.CultureInfo.InvariantCulture),
                        PageToken = options.GetValueOrDefault("page-token") ?? "",
                    })),
                "animals" when args.Length > 1 && args[1] == "milk" => await AnimalMilkAsync(channel, options, stdout),
                "alerts" when args.Length > 1 && args[1] is "ack" or "assign" or "resolve" or "history" => await AlertStepAsync(channel, args[1], options, stdout),
                "alerts" when args.Length > 1 && args[1] == "subscribe" => await PrintAsync(stdout, new AlertService.AlertServiceClient(channel).CreateAlertSubscriptionAsync(
                    SubscriptionOf(options))),
                "alerts" when args.Length > 1 && args[1] == "subscriptions" => await PrintAsync(stdout,
                    new AlertService.AlertServiceClient(channel).ListAlertSubscriptionsAsync(new ListAlertSubscriptionsRequest())),
                "alerts" when args.Length > 1 && args[1] == "unsubscribe" => await PrintAsync(stdout, new AlertService.AlertServiceClient(channel).DeleteAlertSubscriptionAsync(
                    new DeleteAlertSubscriptionRequest { Id = long.Parse(Required(options, "id"), System.Globalization.CultureInfo.InvariantCulture) })),
                "alerts" => await PrintAsync(stdout, new AlertService.AlertServiceClient(channel).ListAlertsAsync(new ListAlertsRequest
                {
                    OpenOnly = options.ContainsKey("open"),
                })),
                _ => Unknown(args[0], stderr),
            };
        }
        catch (RpcException exception)
        {
            stderr.WriteLine($"{exception.StatusCode}: {exception.Status.Detail}");
            if (exception.StatusCode == StatusCode.Unauthenticated)
            {
                stderr.WriteLine("log in first: hohhot login --user NAME (or give --token / $HOHHOT_TOKEN)");
            }

            return exception.StatusCode is StatusCode.InvalidArgument or StatusCode.NotFound ? 2 : 1;
        }
        catch (Exception exception) when (exception is LoginFailedException or IOException or HttpRequestException)
        {
            stderr.WriteLine(exception.Message);
            return 1;
        }
    }

    /// <summary><c>hohhot animals milk</c>: an animal's days or lactation curve, or a pasture's or herd's days (AnimalMilkService).</summary>
    private static async Task<int> AnimalMilkAsync(GrpcChannel channel, Dictionary<string, string?> options, TextWriter stdout)
    {
        var client = new AnimalMilkService.AnimalMilkServiceClient(channel);
        if (options.GetValueOrDefault("tag") is { } tag)
        {
            if (options.ContainsKey("lactation"))
            {
                var parity = options.GetValueOrDefault("parity") is { } p ? int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) : 0;
                return await PrintAsync(stdout, client.GetLactationCurveAsync(new GetLactationCurveRequest { EarTag = tag, Parity = parity }));
            }

            return await PrintAsync(stdout, client.GetAnimalMilkAsync(new GetAnimalMilkRequest
            {
                EarTag = tag, FromDate = options.GetValueOrDefault("from") ?? "", ToDate = options.GetValueOrDefault("to") ?? "",
            }));
        }

        return await PrintAsync(stdout, client.GetHerdMilkAsync(new GetHerdMilkRequest
        {
            PastureId = options.GetValueOrDefault("pasture") ?? "", HerdId = options.GetValueOrDefault("herd") ?? "",
            FromDate = options.GetValueOrDefault("from") ?? "", ToDate = options.GetValueOrDefault("to") ?? "",
        }));
    }

    private static async Task<int> LoginAsync(string api, string? ca, Dictionary<string, string?> options, TextWriter stdout)
    {
        PlatformCredential credential = options.GetValueOrDefault("client-id") is { } client
            ? new PlatformCredential.ClientSecret(client, await SecretAsync(options, "secret-file", "HOHHOT_CLIENT_SECRET"))
            : new PlatformCredential.Password(Required(options, "user"), await SecretAsync(options, "password-file", "HOHHOT_PASSWORD"));
        using var connection = new PlatformConnection(api, credential, ca);
        var token = await connection.TokenAsync(CancellationToken.None);
        var who = await new IdentityService.IdentityServiceClient(connection.Channel).WhoAmIAsync(new WhoAmIRequest());
        new Session(api, ca, token).Save();
        stdout.WriteLine($"logged in to {api} as {who.Account.Id} ({who.Account.Role.ToString().ToLowerInvariant()}) of {who.Organisation.Id}; token kept in {Session.Path}");
        return 0;
    }

    /// <summary>A secret from its file, else the environment variable, else a line of standard input.</summary>
    internal static async Task<string> SecretAsync(Dictionary<string, string?> options, string fileOption, string variable)
    {
        if (options.GetValueOrDefault(fileOption) is { } file)
        {
            return (await File.ReadAllTextAsync(file)).Trim();
        }

        return Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : (Console.In.ReadLine() ?? "").Trim();
    }

    private static int PrintToken(string? token, TextWriter stdout, TextWriter stderr)
    {
        if (string.IsNullOrEmpty(token))
        {
            stderr.WriteLine("no token: hohhot login --user NAME first");
            return 1;
        }

        stdout.WriteLine(token);
        return 0;
    }

    private static async Task<int> ThroughputAsync(GrpcChannel channel, Dictionary<string, string?> options, TextWriter stdout)
    {
        var scopeKind = (options.GetValueOrDefault("scope") ?? "city").ToLowerInvariant() switch
        {
            "city" => ScopeKind.City,
            "county" => ScopeKind.County,
            "plant" => ScopeKind.Plant,
            "pasture" => ScopeKind.Pasture,
            var other => throw new RpcException(new Status(StatusCode.InvalidArgument, $"--scope must be city, county, plant or pasture, not '{other}'")),
        };
        var client = new ThroughputService.ThroughputServiceClient(channel);
        var reply = await client.GetDailyThroughputAsync(new GetDailyThroughputRequest
        {
            LocalDate = options.GetValueOrDefault("date") ?? "",
            Scope = new Scope { Kind = scopeKind, Id = options.GetValueOrDefault("id") ?? "" },
        });

        if (options.ContainsKey("json"))
        {
            stdout.WriteLine(JsonFormatter.Default.Format(reply));
            return 0;
        }

        var inv = CultureInfo.InvariantCulture;
        var scopeText = reply.Scope.Kind == ScopeKind.City ? "city" : $"{reply.Scope.Kind.ToString().ToLowerInvariant()} {reply.Scope.Id}";
        stdout.WriteLine($"Fresh milk, {scopeText}, {reply.LocalDate} (China Standard Time){(reply.Live ? ", live" : "")}");
        stdout.WriteLine();
        stdout.WriteLine(string.Format(inv, "  {0,-34} {1,14:N3} t   ({2:N0} weighbridge intakes)", "processed by plants", reply.ProcessedT, reply.IntakeCount));
        stdout.WriteLine(string.Format(inv, "  {0,-34} {1,14:N3} t   ({2:N0} bulk-tank collections)", "produced by pastures", reply.ProducedT, reply.CollectionCount));
        stdout.WriteLine(string.Format(inv, "  {0,-34} {1,14:N3} t   ({2:N0} milkings)", "measured by milk meters", reply.MilkedT, reply.MilkingCount));
        stdout.WriteLine();
        if (reply.Goals.Count == 0)
        {
            stdout.WriteLine("  no goal applies: the plan's goals are the city's (Hohhot's), not a county's, plant's or pasture's");
            return 0;
        }

        stdout.WriteLine(string.Format(inv, "  {0,-34} {1,6} {2,14} {3,14} {4,9}", "goal", "year", "target t/day", "actual t", "percent"));
        foreach (var goal in reply.Goals)
        {
            stdout.WriteLine(string.Format(inv, "  {0,-34} {1,6} {2,14:N0} {3,14:N3} {4,8:N2}%", goal.Key, goal.Year, goal.TargetT, goal.ActualT, goal.Percent));
        }

        stdout.WriteLine();
        foreach (var basis in reply.Goals.Select(g => (g.Key, g.Basis)).Distinct())
        {
            stdout.WriteLine($"  {basis.Key}: {basis.Basis}");
        }

        return 0;
    }

    private static async Task<int> RegistryUpsertAsync(GrpcChannel channel, Dictionary<string, string?> options, TextWriter stdout, TextWriter stderr)
    {
        if (options.GetValueOrDefault("file") is not { } path)
        {
            stderr.WriteLine("registry upsert needs --file registry.json");
            return 2;
        }

        RegistryDocument document;
        try
        {
            document = JsonParser.Default.Parse<RegistryDocument>(await File.ReadAllTextAsync(path));
        }
        catch (Exception exception) when (exception is InvalidProtocolBufferException or InvalidJsonException or IOException)
        {
            stderr.WriteLine($"{path}: {exception.Message}");
            return 2;
        }

        var reply = await new RegistryService.RegistryServiceClient(channel).UpsertRegistryAsync(document);
        stdout.WriteLine($"registered {reply.Counties} counties, {reply.Pastures} pastures, {reply.Herds} herds, {reply.Plants} plants, {reply.Labs} labs, {reply.Devices} devices");
        return 0;
    }

    private static CreateAlertSubscriptionRequest SubscriptionOf(Dictionary<string, string?> options)
    {
        var request = new CreateAlertSubscriptionRequest
        {
            Channel = Required(options, "channel"),
            Target = Required(options, "target"),
            Secret = options.GetValueOrDefault("secret-file") is { } file ? File.ReadAllText(file).Trim() : "",
            MinSeverity = options.GetValueOrDefault("min-severity") ?? "",
            EscalateAfterMinutes = options.GetValueOrDefault("escalate-after-minutes") is { } minutes
                ? int.Parse(minutes, System.Globalization.CultureInfo.InvariantCulture) : 0,
        };
        if (options.GetValueOrDefault("kinds") is { } kinds)
        {
            request.Kinds.AddRange(kinds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        return request;
    }

    private static async Task<int> AlertStepAsync(GrpcChannel channel, string step, Dictionary<string, string?> options, TextWriter stdout)
    {
        var client = new AlertService.AlertServiceClient(channel);
        if (!long.TryParse(Required(options, "id"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            throw new ArgumentException("--id must be an alert id (a number).");
        }

        return step switch
        {
            "ack" => await PrintAsync(stdout, client.AcknowledgeAlertAsync(new AcknowledgeAlertRequest { AlertId = id })),
            "assign" => await PrintAsync(stdout, client.AssignAlertAsync(new AssignAlertRequest { AlertId = id, Assignee = Required(options, "to") })),
            "resolve" => await PrintAsync(stdout, client.ResolveAlertAsync(new ResolveAlertRequest { AlertId = id, Note = Required(options, "note") })),
            _ => await PrintAsync(stdout, client.GetAlertHistoryAsync(new GetAlertHistoryRequest { AlertId = id })),
        };
    }

    private static async Task<int> HealthAsync(GrpcChannel channel, TextWriter stdout)
    {
        var client = new Health.HealthClient(channel);
        var platform = (await client.CheckAsync(new HealthCheckRequest())).Status;
        var degraded = new List<string>();
        foreach (var component in new[] { "postgres", "influxdb", "mqtt" })
        {
            var status = (await client.CheckAsync(new HealthCheckRequest { Service = component })).Status;
            if (status != HealthCheckResponse.Types.ServingStatus.Serving)
            {
                degraded.Add(component);
            }

            stdout.WriteLine($"  {component,-10} {status}");
        }

        var serving = platform == HealthCheckResponse.Types.ServingStatus.Serving;
        stdout.WriteLine(!serving ? "platform: NOT SERVING" : degraded.Count > 0 ? $"platform: SERVING, degraded ({string.Join(", ", degraded)})" : "platform: SERVING");
        return serving ? 0 : 1;
    }

    private static async Task<int> TraceAsync(GrpcChannel channel, string verb, Dictionary<string, string?> options, TextWriter stdout)
    {
        var client = new TraceabilityService.TraceabilityServiceClient(channel);
        switch (verb)
        {
            case "back":
                // A tanker load's trace back: its pickups down to the pastures, and its road (tanker_log temperatures, route time).
                return await PrintAsync(stdout, client.TraceBackAsync(options.GetValueOrDefault("tanker-load") is { } tankerLoad
                    ? new TraceBackRequest { ProductLotId = tankerLoad, Kind = LotKind.TankerLoad }
                    : new TraceBackRequest { ProductLotId = Required(options, "lot") }));
            case "forward":
                var forward = new TraceForwardRequest();
                if (options.GetValueOrDefault("bulk-tank-lot") is { } lot)
                {
                    forward.BulkTankLotId = lot;
                }
                else if (options.GetValueOrDefault("tanker-load") is { } load)
                {
                    forward.TankerLoadId = load;
                }
                else
                {
                    forward.SampleId = Required(options, "sample");
                }

                return await PrintAsync(stdout, client.TraceForwardAsync(forward));
            case "recall":
                var recall = new RecallImpactRequest();
                if (options.GetValueOrDefault("silo-batch") is { } siloBatch)
                {
                    recall.SiloBatchId = siloBatch;
                }
                else if (options.GetValueOrDefault("line-run") is { } lineRun)
                {
                    recall.LineRunProductLotId = lineRun;
                }
                else
                {
                    recall.SampleId = Required(options, "sample");
                }

                return await PrintAsync(stdout, client.RecallImpactAsync(recall));
            case "import":
                var path = Required(options, "file");
                return await PrintAsync(stdout, client.ImportEpcisAsync(new ImportEpcisRequest { DocumentJson = await File.ReadAllTextAsync(path) }));
            case "declare-recall":
                return await PrintAsync(stdout, client.DeclareRecallAsync(new DeclareRecallRequest
                {
                    ProductLotId = Required(options, "lot"),
                    Reason = Required(options, "reason"),
                }));
            case "mass-balance":
                return await PrintAsync(stdout, client.MassBalanceAsync(new MassBalanceRequest
                {
                    PlantId = Required(options, "plant"),
                    LocalDate = Required(options, "date"),
                }));
            default:
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"unknown trace command '{verb}': back, forward, recall, declare-recall, mass-balance or import"));
        }
    }

    private static async Task<int> AuditCsvAsync(GrpcChannel channel, Dictionary<string, string?> options, TextWriter stdout)
    {
        var path = Required(options, "out");
        var report = await new AuditService.AuditServiceClient(channel).ExportCsvAsync(AuditQueryOf(options));
        await File.WriteAllBytesAsync(path, report.Content.ToByteArray());
        stdout.WriteLine($"wrote {path}: {report.Rows} rows");
        return 0;
    }

    private static AuditQuery AuditQueryOf(Dictionary<string, string?> options) => new()
    {
        Scope = new AuditScope
        {
            Kind = (options.GetValueOrDefault("scope") ?? "city") switch
            {
                "city" => AuditScopeKind.City,
                "county" => AuditScopeKind.County,
                "pasture" => AuditScopeKind.Pasture,
                "plant" => AuditScopeKind.Plant,
                "tanker" => AuditScopeKind.Tanker,
                var other => throw new RpcException(new Status(StatusCode.InvalidArgument, $"--scope must be city, county, pasture, plant or tanker, not '{other}'")),
            },
            Id = options.GetValueOrDefault("id") ?? "",
        },
        FromDate = options.GetValueOrDefault("from") ?? "",
        ToDate = options.GetValueOrDefault("to") ?? "",
        Item = options.GetValueOrDefault("item") ?? "",
    };

    internal static async Task<int> PrintAsync<T>(TextWriter stdout, AsyncUnaryCall<T> call)
        where T : IMessage
    {
        stdout.WriteLine(new JsonFormatter(JsonFormatter.Settings.Default.WithIndentation()).Format(await call));
        return 0;
    }

    internal static string Required(Dictionary<string, string?> options, string name) =>
        options.GetValueOrDefault(name) ?? throw new RpcException(new Status(StatusCode.InvalidArgument, $"--{name} is required"));

    private static int Unknown(string command, TextWriter stderr)
    {
        stderr.WriteLine($"unknown command '{command}'; see hohhot --help");
        return 2;
    }

    internal static Dictionary<string, string?> ParseOptions(ReadOnlySpan<string> args)
    {
        var options = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                continue; // sub-command words such as "upsert"
            }

            var name = arg[2..];
            if (name is "json" or "open" or "city-wide" or "transfer" or "service" or "all-pages" or "ids")
            {
                options[name] = null;
            }
            else if (i + 1 < args.Length)
            {
                options[name] = args[++i];
            }
            else
            {
                throw new ArgumentException($"option --{name} needs a value");
            }
        }

        return options;
    }
}

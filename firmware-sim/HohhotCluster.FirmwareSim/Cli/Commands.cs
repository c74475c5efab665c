using HohhotCluster.Telemetry.Client;
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.FirmwareSim.Simulation;
using HohhotCluster.FirmwareSim.Verification;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.FirmwareSim.Cli;

internal static class Commands
{
    public const string Usage = """
        hohhot-sim: device simulator of the Hohhot dairy fleet (MQTT contract v1)

          profile show NAME [--seed N]                     fleet totals of a profile (demo, city-2021, city-2023 or a path)
          registry --profile NAME --seed N --out FILE      the fleet's RegistryDocument as protobuf JSON
          register --profile NAME --seed N --api URL       RegistryService.UpsertRegistry, then each gateway's MQTT credential,
                                                           then the stock (AnimalService.ImportAnimals, as of
                                                           --animals-as-of T, default 8 days ago)
                                                           (IssueGatewayCredential; one issued before is rotated to the sim's
                                                           password or kept when it already is) [--api-token T] (else
                                                           $HOHHOT_TOKEN, or $HOHHOT_USER and $HOHHOT_PASSWORD; $HOHHOT_CA)
          credentials --profile NAME --seed N --out FILE   "username password" per gateway (for a site broker's password file)
          run --profile NAME --seed N [options]            publish to the platform's MQTT endpoint (or a site broker)
          record --profile NAME --seed N --out FILE        generate a run into a file (no MQTT)
          replay --file FILE [--seed N] [options]          publish a recorded run as fast as the endpoint takes it
          dump --file FILE [--limit N]                     print a recorded run: topic TAB payload per line
          chain --file FILE                                a recorded run's failing samples and the product lots their
                                                           milk reached (lines: failing-sample ID KIND LOT, product-lot ID)
          verify --ledger FILE [--api URL] [--influx URL] [--db hohhot] [--api-token T] [--skip-chain]
                 [--profile NAME]                  also fail when a kind the profile promises is absent

        run/record options:
          --start 2026-11-29T00:00:00+08:00   simulated start (default: today 00:00 +08:00)
          --duration 1d                       simulated time to cover (90s, 15m, 6h, 1d)
          --warmup-days N                     days simulated before the start and not published, so the first day
                                              carries tanks, tankers and silos over (default: the profile's, 1)
          --speed 1440 | max | 1              simulated seconds per real second (default max)
          --kinds milking,bulk_tank,...       narrow the kinds published (default: all of milking, bulk_tank,
                                              plant_intake, tanker_pickup, silo_transfer, production, quality,
                                              manure, health, tanker_log)
          --animal-events all | platform-main | birth,calving,...
                                              the animal event types published (default: the profile's animals.events,
                                              all); platform-main = birth, arrival, departure, death, herd_move, dry_off,
                                              calving (the registry without treatments, health or breeding)
          --boot-epoch N | now                boot epoch of every device (default: start, Unix seconds)
          --drift 30s                         largest per-device clock drift (seeded, +/-)
          --fault-duplicates R --fault-reorder R --fault-late R [--late-by 6h] --fault-malformed R
          --fault-oversized R --fault-foreign-topic R --fault-restart R --fault-flood N
        publishing options (run, replay):
          --mqtt mqtts://127.0.0.1:18884      the endpoint (default: the demo platform's): host:port, mqtt://host:port
                                              or mqtts://host:port; gateways log in as their owner id with the password
                                              register issued
          --mqtt-tls                          TLS for host:port
          --mqtt-ca FILE                      TLS, trusting only this CA (the platform's ca.pem; default $HOHHOT_CA,
                                              as for the API; without either, the system's roots)
          --batch 200                         readings per batch publish when a gateway has a backlog (1-500;
                                              1 = every message alone); a lone new message goes alone
          --ledger FILE  --spool DIR  --spool-max-mb 256  --inflight 64 (publishes awaiting PUBACK; a batch is one)
          --drain-timeout 60s     --record FILE (run only)    --quiet
        """;

    public static async Task<int> ProfileShowAsync(CommandLine cli)
    {
        var name = cli.Positional.Count > 2 ? cli.Positional[2] : throw new UsageException("profile show NAME");
        var seed = cli.GetLong("seed", 1);
        cli.RejectUnknown();
        var fleet = FleetGenerator.Generate(FleetProfile.Load(name), seed);
        PrintTotals(fleet, Console.Out);
        await Console.Out.FlushAsync().ConfigureAwait(false);
        return 0;
    }

    public static void PrintTotals(FleetModel fleet, TextWriter output)
    {
        var totals = fleet.Totals();
        var expected = fleet.Profile.Expected;
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine($"profile {fleet.Profile.Name} (seed {fleet.Seed.ToString(inv)}): {fleet.Profile.Description}");
        output.WriteLine(string.Create(inv, $"  Hohhot cows   {totals.HohhotCows,9:N0} head on {totals.HohhotCowPastures} pastures (profile expects {expected.Cows:N0})"));
        output.WriteLine(string.Create(inv, $"  Hohhot goats  {totals.HohhotGoats,9:N0} head on {totals.HohhotGoatPastures} pastures (profile expects {expected.Goats:N0})"));
        output.WriteLine(string.Create(inv, $"  bases (Baotou, Ordos, Ulanqab): {totals.BaseCows:N0} cows, {totals.BaseGoats:N0} goats on {totals.BasePastures} pastures"));
        output.WriteLine(string.Create(inv, $"  adults (calved at least once): {totals.AdultCows:N0} cows, {totals.AdultGoats:N0} goats"));
        var milk = MilkFigures.Of(fleet, DateOnly.FromDateTime(DateTime.UtcNow));
        output.WriteLine(string.Create(inv,
            $"  milk to the tanks a day: Hohhot cows {milk.HohhotCowT:N0} t, Hohhot goats {milk.HohhotGoatT:N1} t, bases {milk.BaseT:N0} t; all plants receive about {milk.TotalT:N0} t"));
        output.WriteLine(string.Create(inv, $"  plants: {fleet.Plants.Count}, capacity {totals.CowPlantCapacityT:N0} t/day cow milk, {totals.GoatPlantCapacityT:N0} t/day goat milk"));
        foreach (var plant in fleet.Plants)
        {
            var categories = string.Join("+", plant.Profile.ProductsFor(plant.Profile.Species).Select(p => p.Category).Distinct());
            output.WriteLine(string.Create(inv, $"    {plant.Id,-18} {plant.Profile.Name} ({plant.County.Profile.Name}), {plant.Profile.DailyCapacityT:N0} t/day {plant.Profile.Species.ToString().ToLowerInvariant()} milk: {categories}"));
        }
        output.WriteLine(string.Create(inv, $"  gateways (MQTT connections): {totals.Gateways:N0}, devices: {totals.Devices:N0}"));
    }

    /// <summary>A day's milk of a fleet, t: what goes to the tanks on Hohhot's cow and goat pastures and on the bases.</summary>
    internal sealed record MilkFigures(double HohhotCowT, double HohhotGoatT, double BaseT)
    {
        public double TotalT => HohhotCowT + HohhotGoatT + BaseT;

        public static MilkFigures Of(FleetModel fleet, DateOnly day)
        {
            double cow = 0, goat = 0, bases = 0;
            foreach (var pasture in fleet.Pastures)
            {
                var t = DairySimulation.TankMilkKg(fleet.Seed, pasture, day) / 1000;
                if (!pasture.County.IsInHohhot) { bases += t; }
                else if (pasture.Species == AnimalSpecies.Cow) { cow += t; }
                else { goat += t; }
            }
            return new MilkFigures(cow, goat, bases);
        }
    }

    public static async Task<int> RegistryAsync(CommandLine cli)
    {
        var fleet = LoadFleet(cli);
        var outPath = cli.Require("out");
        cli.RejectUnknown();
        var formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithIndentation());
        await File.WriteAllTextAsync(outPath, formatter.Format(RegistryDocumentBuilder.Build(fleet)) + "\n").ConfigureAwait(false);
        Console.Error.WriteLine($"wrote {outPath}: {fleet.Pastures.Count.ToString(CultureInfo.InvariantCulture)} pastures, {fleet.Devices.Count.ToString(CultureInfo.InvariantCulture)} devices");
        return 0;
    }

    public static async Task<int> RegisterAsync(CommandLine cli)
    {
        var fleet = LoadFleet(cli);
        var api = cli.Require("api");
        var token = cli.Get("api-token");
        // The stock's moment: before any event a run can still publish (the platform takes readings up to 7 days late).
        var asOf = cli.Get("animals-as-of") is { } asOfText
            ? DateTimeOffset.Parse(asOfText, CultureInfo.InvariantCulture)
            : DateTimeOffset.UtcNow.AddDays(-8);
        cli.RejectUnknown();
        using var connection = PlatformConnection.FromEnvironment(api, token);
        var client = new RegistryService.RegistryServiceClient(connection.Channel);
        var reply = await client.UpsertRegistryAsync(RegistryDocumentBuilder.Build(fleet)).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"registered: {reply.Counties} counties, {reply.Pastures} pastures, {reply.Herds} herds, {reply.Plants} plants, {reply.Devices} devices"));
        var credentials = await GatewayCredentialIssuer.IssueAsync(client, fleet, CancellationToken.None).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gateway credentials: {credentials.Issued} issued, {credentials.Rotated} rotated to the sim's password, {credentials.Kept} kept (already current)"));
        var animals = await Animals.AnimalRegistration.ImportAsync(new AnimalService.AnimalServiceClient(connection.Channel), fleet, asOf, CancellationToken.None)
            .ConfigureAwait(false);
        Console.WriteLine(animals.NotServed is { } missing
            ? $"animals: not imported: {missing}"
            : string.Create(CultureInfo.InvariantCulture, $"animals: {animals.Registered} registered, {animals.Unchanged} unchanged (as of {asOf:yyyy-MM-dd HH:mm}Z)"));
        return 0;
    }

    public static async Task<int> CredentialsAsync(CommandLine cli)
    {
        var fleet = LoadFleet(cli);
        var outPath = cli.Require("out");
        cli.RejectUnknown();
        var lines = new List<string>(fleet.Gateways.Count);
        foreach (var gateway in fleet.Gateways)
        {
            lines.Add(gateway.OwnerId + " " + GatewayCredentials.Password(fleet.Seed, gateway.OwnerId));
        }
        await File.WriteAllLinesAsync(outPath, lines).ConfigureAwait(false);
        Console.Error.WriteLine($"wrote {outPath}: {lines.Count.ToString(CultureInfo.InvariantCulture)} gateways");
        return 0;
    }

    public static async Task<int> RecordAsync(CommandLine cli, CancellationToken cancellationToken)
    {
        var fleet = LoadFleet(cli);
        var options = ReadSimulationOptions(cli, forceMaxSpeed: true);
        var outPath = cli.Require("out");
        cli.RejectUnknown();
        PrintTotals(fleet, Console.Error);
        var watch = Stopwatch.StartNew();
        using (var writer = new RunFileWriter(outPath, fleet.Seed))
        {
            await new SimulationRunner(fleet, options, TimeProvider.System).RunAsync(writer, cancellationToken).ConfigureAwait(false);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"recorded {writer.Count:N0} messages to {outPath} in {watch.Elapsed.TotalSeconds:F1} s"));
        }
        return 0;
    }

    public static async Task<int> RunAsync(CommandLine cli, CancellationToken cancellationToken)
    {
        var fleet = LoadFleet(cli);
        var options = ReadSimulationOptions(cli, forceMaxSpeed: false);
        var recordPath = cli.Get("record");
        var publishing = ReadPublishing(cli);
        cli.RejectUnknown();
        PrintTotals(fleet, Console.Error);

        var runner = new SimulationRunner(fleet, options, TimeProvider.System);
        using var recorder = recordPath is null ? null : new RunFileWriter(recordPath, fleet.Seed);
        return await PublishAsync(publishing, fleet.Seed, async (sink, token) =>
        {
            IMessageSink target = recorder is null ? sink : new TeeMessageSink(recorder, sink);
            await runner.RunAsync(target, token).ConfigureAwait(false);
        }, () => DateTimeOffset.FromUnixTimeMilliseconds(runner.SimulatedNowMs).ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
        cancellationToken).ConfigureAwait(false);
    }

    public static async Task<int> ReplayAsync(CommandLine cli, CancellationToken cancellationToken)
    {
        var file = cli.Require("file");
        var seedOverride = cli.Get("seed");
        var publishing = ReadPublishing(cli);
        cli.RejectUnknown();
        var messages = RunFileWriter.Read(file, out var seed);
        if (seedOverride is not null)
        {
            seed = long.Parse(seedOverride, CultureInfo.InvariantCulture);
        }
        var watch = Stopwatch.StartNew();
        long replayed = 0;
        var code = await PublishAsync(publishing, seed, async (sink, token) =>
        {
            foreach (var message in messages)
            {
                await sink.SendAsync(message, token).ConfigureAwait(false);
                replayed++;
            }
        }, () => string.Create(CultureInfo.InvariantCulture, $"replayed {replayed:N0}"), cancellationToken).ConfigureAwait(false);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"replay: {replayed:N0} messages in {watch.Elapsed.TotalSeconds:F1} s ({replayed / Math.Max(0.001, watch.Elapsed.TotalSeconds):N0} msg/s)"));
        return code;
    }

    public static async Task<int> DumpAsync(CommandLine cli)
    {
        var file = cli.Require("file");
        var limit = cli.GetLong("limit", long.MaxValue);
        cli.RejectUnknown();
        var output = Console.Out;
        long count = 0;
        foreach (var message in RunFileWriter.Read(file, out _))
        {
            if (count++ >= limit)
            {
                break;
            }
            output.Write(message.Topic);
            output.Write('\t');
            output.WriteLine(System.Text.Encoding.UTF8.GetString(message.Payload));
        }
        await output.FlushAsync().ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// The ids a newcomer can trace: each failing sample of a recorded run, with the product lots its lot's milk reached
    /// (bulk-tank lot -> tanker load -> silo batch -> product lot, from the messages' own lot links).
    /// </summary>
    public static async Task<int> ChainAsync(CommandLine cli)
    {
        var file = cli.Require("file");
        cli.RejectUnknown();
        var messages = RunFileWriter.Read(file, out _).Where(m => m.Fault == FaultTag.None).ToList();
        var output = Console.Out;
        foreach (var line in ChainLines(messages))
        {
            output.WriteLine(line);
        }
        await output.FlushAsync().ConfigureAwait(false);
        return 0;
    }

    internal static IEnumerable<string> ChainLines(IReadOnlyList<OutboundMessage> messages)
    {
        var loadsOfLot = Links(messages, MessageKind.TankerPickup);
        var batchesOfLoad = Links(messages, MessageKind.SiloTransfer);
        var productsOfBatch = Links(messages, MessageKind.Production);
        foreach (var sample in messages.Where(m => m.Kind == MessageKind.Quality && m.Verdict == "fail" && m.Lot is not null))
        {
            using var payload = System.Text.Json.JsonDocument.Parse(sample.Payload);
            var root = payload.RootElement;
            var failed = root.GetProperty("items").EnumerateArray()
                .Where(i => i.TryGetProperty("value", out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Number
                    && Simulation.QualityLab.Fails(new QualityItem(i.GetProperty("item").GetString()!, v.GetDouble(), null, null, ""), SpeciesOf(root), DairySimulation.LocalDayOf(sample.EventUnixMs))
                    || i.TryGetProperty("result", out var r) && r.GetString() == "positive")
                .Select(i => i.GetProperty("item").GetString() + (i.TryGetProperty("value", out var v) ? "=" + v.GetRawText() : "=positive"));
            yield return $"failing-sample {root.GetProperty("sampleId").GetString()} {root.GetProperty("lot").GetProperty("kind").GetString()} {sample.Lot!} {root.GetProperty("sampleKind").GetString()} {string.Join(",", failed)}";
            var sampled = sample.Lot!;
            List<string> loads = sampled.StartsWith("TL-", StringComparison.Ordinal) ? [sampled] : loadsOfLot.GetValueOrDefault(sampled) ?? [];
            foreach (var load in loads)
            {
                foreach (var batch in batchesOfLoad.GetValueOrDefault(load) ?? [])
                {
                    foreach (var product in productsOfBatch.GetValueOrDefault(batch) ?? [])
                    {
                        yield return $"product-lot {product} via {load} {batch}";
                    }
                }
            }
        }
    }

    private static AnimalSpecies SpeciesOf(System.Text.Json.JsonElement sample) =>
        sample.TryGetProperty("species", out var species) && species.GetString() == "goat" ? AnimalSpecies.Goat : AnimalSpecies.Cow;

    /// <summary>Source lot -> the lots a chain kind wrote from it, in message order.</summary>
    private static Dictionary<string, List<string>> Links(IReadOnlyList<OutboundMessage> messages, MessageKind kind)
    {
        var links = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var message in messages.Where(m => m.Kind == kind && m.Source is not null && m.Lot is not null))
        {
            if (!links.TryGetValue(message.Source!, out var list))
            {
                list = [];
                links.Add(message.Source!, list);
            }
            if (!list.Contains(message.Lot!))
            {
                list.Add(message.Lot!);
            }
        }
        return links;
    }

    public static async Task<int> VerifyAsync(CommandLine cli, CancellationToken cancellationToken)
    {
        var options = new VerifyOptions
        {
            LedgerPath = cli.Require("ledger"),
            ApiAddress = cli.Get("api"),
            ApiToken = cli.Get("api-token"),
            InfluxAddress = cli.Get("influx"),
            InfluxDatabase = cli.Get("db", "hohhot"),
            SkipChain = cli.Flag("skip-chain"),
            PromisedKinds = cli.Get("profile") is { } profileName ? PromisedKinds(FleetProfile.Load(profileName)) : [],
        };
        cli.RejectUnknown();
        if (options.ApiAddress is null && options.InfluxAddress is null)
        {
            throw new UsageException("verify needs --api and/or --influx");
        }
        return await new LedgerVerifier(options, Console.Out).RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The profile's <c>promises</c>, or else every kind its fleet has devices for (every pasture and plant has them all).</summary>
    public static IReadOnlyList<string> PromisedKinds(FleetProfile profile) =>
        profile.Promises.Count > 0 ? profile.Promises : [.. MessageKinds.All.Select(MessageKinds.Name)];

    private sealed record PublishingSettings(MqttEndpoint Endpoint, GatewayPublisherOptions Gateway, string LedgerPath, TimeSpan DrainTimeout, bool Quiet);

    private static PublishingSettings ReadPublishing(CommandLine cli)
    {
        var mqtt = cli.Get("mqtt", "mqtts://127.0.0.1:18884");
        var tls = cli.Flag("mqtt-tls");
        var ca = cli.Get("mqtt-ca");
        MqttEndpoint endpoint;
        try
        {
            // $HOHHOT_CA: the platform's CA, as the API's connection takes it.
            endpoint = MqttEndpoint.Parse(mqtt, tls, ca, Environment.GetEnvironmentVariable("HOHHOT_CA") is { Length: > 0 } platformCa ? platformCa : null);
        }
        catch (FormatException exception)
        {
            throw new UsageException($"--mqtt, --mqtt-tls, --mqtt-ca or $HOHHOT_CA: {exception.Message}");
        }
        var batch = cli.GetLong("batch", 200);
        if (batch is < 1 or > BatchPayloadBuilder.MaxReadings)
        {
            throw new UsageException($"--batch: {batch.ToString(CultureInfo.InvariantCulture)} is not 1-{BatchPayloadBuilder.MaxReadings.ToString(CultureInfo.InvariantCulture)}");
        }
        var gateway = new GatewayPublisherOptions
        {
            SpoolDirectory = cli.Get("spool", "hohhot-sim-spool"),
            SpoolMaxBytes = cli.GetLong("spool-max-mb", 256) * 1024 * 1024,
            MaxInflight = (int)Math.Clamp(cli.GetLong("inflight", 64), 1, 65535),
            BatchReadings = (int)batch,
        };
        return new PublishingSettings(endpoint, gateway, cli.Get("ledger", "hohhot-sim-ledger.jsonl"),
            cli.GetDuration("drain-timeout", TimeSpan.FromSeconds(60)), cli.Flag("quiet"));
    }

    private static async Task<int> PublishAsync(PublishingSettings settings, long seed, Func<IMessageSink, CancellationToken, Task> produce,
        Func<string> where, CancellationToken cancellationToken)
    {
        using var ledger = new PublishLedger(settings.LedgerPath);
        var stats = new RunStats();
        var publisher = new FleetPublisher(settings.Endpoint, settings.Gateway, owner => GatewayCredentials.Password(seed, owner), ledger, stats);
        await using (publisher.ConfigureAwait(false))
        {
            using var progressStop = new CancellationTokenSource();
            var progress = settings.Quiet ? Task.CompletedTask : ShowProgressAsync(stats, ledger, where, progressStop.Token);
            try
            {
                await produce(publisher, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Console.Error.WriteLine("interrupted: draining what was generated");
            }
            var drained = await publisher.CompleteAsync(settings.DrainTimeout).ConfigureAwait(false);
            await progressStop.CancelAsync().ConfigureAwait(false);
            await progress.ConfigureAwait(false);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"done: {stats.Accepted:N0} messages to {settings.Endpoint}, {stats.Acked:N0} acknowledged and counted, {stats.Quarantined:N0} quarantined (0x99), {stats.Refused:N0} refused, {stats.Dropped:N0} dropped, {stats.Spooled:N0} left in the spool; resent: {stats.RateLimited:N0} rate-limited (0x97/0x96), {stats.TransportFailures:N0} after a lost connection ({stats.RateDisconnects:N0} disconnects for the gateway's rate); {stats.Batches:N0} batch publishes; ledger {settings.LedgerPath}"));
            if (!drained)
            {
                Console.Error.WriteLine($"not everything was acknowledged within {settings.DrainTimeout}: {publisher.DescribeUnreachable()}");
                return 2;
            }
            return 0;
        }
    }

    private static async Task ShowProgressAsync(RunStats stats, PublishLedger ledger, Func<string> where, CancellationToken stop)
    {
        var interval = Console.IsErrorRedirected ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(2);
        var lastAcked = 0L;
        var last = Stopwatch.GetTimestamp();
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                var acked = stats.Acked;
                var rate = (acked - lastAcked) / Stopwatch.GetElapsedTime(last).TotalSeconds;
                lastAcked = acked;
                last = Stopwatch.GetTimestamp();
                ledger.Flush();
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{where()}] sent {stats.Sent:N0} acked {acked:N0} pending {stats.Pending:N0} (in flight {stats.Inflight:N0}, spooled {stats.Spooled:N0}) quarantined {stats.Quarantined:N0} refused {stats.Refused:N0} rate-limited {stats.RateLimited:N0} {rate:N0} msg/s"));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static HashSet<Animals.AnimalEventType> ParseAnimalEvents(string text)
    {
        try
        {
            return Animals.AnimalEventTypes.ParseSelection(text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        catch (InvalidDataException e)
        {
            throw new UsageException("--animal-events: " + e.Message);
        }
    }

    private static FleetModel LoadFleet(CommandLine cli)
    {
        var profile = FleetProfile.Load(cli.Require("profile"));
        return FleetGenerator.Generate(profile, cli.GetLong("seed", 1));
    }

    private static SimulationOptions ReadSimulationOptions(CommandLine cli, bool forceMaxSpeed)
    {
        var startText = cli.Get("start");
        var today = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8));
        var start = startText is null
            ? new DateTimeOffset(today.Year, today.Month, today.Day, 0, 0, 0, TimeSpan.FromHours(8))
            : DateTimeOffset.Parse(startText, CultureInfo.InvariantCulture);
        var speedText = cli.Get("speed", "max");
        var speed = forceMaxSpeed || speedText == "max" ? 0 : double.Parse(speedText, CultureInfo.InvariantCulture);
        var epochText = cli.Get("boot-epoch");
        long? bootEpoch = epochText switch
        {
            null => null,
            "now" => DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            _ => long.Parse(epochText, CultureInfo.InvariantCulture),
        };
        var kinds = new HashSet<MessageKind>();
        var allKinds = string.Join(",", MessageKinds.All.Select(MessageKinds.Name));
        foreach (var name in cli.Get("kinds", allKinds).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!MessageKinds.TryParse(name, out var kind))
            {
                throw new UsageException($"--kinds: '{name}' is not a kind this simulator publishes ({allKinds})");
            }
            kinds.Add(kind);
        }
        return new SimulationOptions
        {
            Start = start,
            Duration = cli.GetDuration("duration", TimeSpan.FromDays(1)),
            Speed = speed,
            BootEpoch = bootEpoch,
            MaxClockDrift = cli.GetDuration("drift", TimeSpan.Zero),
            Kinds = kinds,
            AnimalEvents = cli.Get("animal-events") is { } animalEvents
                ? ParseAnimalEvents(animalEvents)
                : null,
            WarmupDays = cli.Get("warmup-days") is { } warmup
                ? int.TryParse(warmup, NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days <= 7 ? days
                    : throw new UsageException($"--warmup-days: '{warmup}' is not 0-7")
                : null,
            Faults = new FaultOptions
            {
                DuplicateRate = cli.GetDouble("fault-duplicates", 0),
                ReorderRate = cli.GetDouble("fault-reorder", 0),
                LateRate = cli.GetDouble("fault-late", 0),
                LateBy = cli.GetDuration("late-by", TimeSpan.FromHours(6)),
                MalformedRate = cli.GetDouble("fault-malformed", 0),
                OversizedRate = cli.GetDouble("fault-oversized", 0),
                ForeignTopicRate = cli.GetDouble("fault-foreign-topic", 0),
                RestartRate = cli.GetDouble("fault-restart", 0),
                FloodPerSample = (int)cli.GetLong("fault-flood", 0),
            },
        };
    }

}

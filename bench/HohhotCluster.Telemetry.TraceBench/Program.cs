using System.Diagnostics;
using System.Globalization;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.Traceability;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

// Usage: hohhot-tracebench [--days 365] [--tonnes 10000] [--queries 4000] [--callers 16] [--rounds 1] [--verify 200]
//   [--reuse] [--no-prepare] [--no-quality] [--profile firmware-sim/profiles/city-2023.json]
// Needs HOHHOT_PG_CONNECTION; creates (or with --reuse keeps) a database named tracebench_city_<days>.
var days = (int)Arg("--days", 365);
var tonnes = Arg("--tonnes", 10_000);
var queries = (int)Arg("--queries", 4000);
var callers = (int)Arg("--callers", 16);
var reuse = args.Contains("--reuse");
var profilePath = ArgText("--profile") ?? FindProfile();
var shape = new CityChain(profilePath, tonnes);
var admin = new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable("HOHHOT_PG_CONNECTION")
    ?? throw new InvalidOperationException("HOHHOT_PG_CONNECTION is not set (deploy/servers.sh env prints it)."));
var database = FormattableString.Invariant($"tracebench_city_{days}_{tonnes:0}");

await using (var connection = new NpgsqlConnection(admin.ConnectionString))
{
    await connection.OpenAsync();
    var exists = (long)(await new NpgsqlCommand($"select count(*) from pg_database where datname = '{database}'", connection).ExecuteScalarAsync())! > 0;
    if (exists && !reuse)
    {
        await new NpgsqlCommand($"drop database \"{database}\" with (force)", connection).ExecuteNonQueryAsync();
    }

    if (!exists || !reuse)
    {
        await new NpgsqlCommand($"create database \"{database}\"", connection).ExecuteNonQueryAsync();
        reuse = false;
    }
}

admin.Database = database;
admin.MaxPoolSize = callers + 4;
// As the host should run it: statements prepared once per connection, not planned per call.
admin.MaxAutoPrepare = args.Contains("--no-prepare") ? 0 : 32;
await using var dataSource = NpgsqlDataSource.Create(admin.ConnectionString);
if (!reuse)
{
    await new SchemaMigrator(dataSource, [new MigrationSource(typeof(SchemaMigrator).Assembly), new MigrationSource(typeof(ChainStore).Assembly)],
        NullLogger<SchemaMigrator>.Instance).MigrateAsync();
    var load = Stopwatch.StartNew();
    // Through the chain's owner: ChainStore's bulk load (COPY of lots, edges by natural key, lineage rebuilt set-wise).
    var (lots, edges, lineage) = await new ChainStore(dataSource).BulkLoadAsync(AllLots(), AllEdges(), default);
    Console.WriteLine($"loaded {lots:N0} lots, {edges:N0} edges, {lineage:N0} lineage rows in {load.Elapsed.TotalSeconds:0} s (ChainStore.BulkLoadAsync)");
    await LoadAnimalsAsync(dataSource);
}

if (args.Contains("--no-quality"))
{
    await using var drop = dataSource.CreateCommand("drop table if exists quality_result");
    await drop.ExecuteNonQueryAsync();
}
else
{
    await EnsureQualityResultsAsync(dataSource);
}

var productIds = new List<string>();
var bulkIds = new List<string>();
await using (var command = dataSource.CreateCommand(
    "select (select count(*) from trace_lot), (select count(*) from trace_edge), (select count(*) from trace_lineage), pg_size_pretty(pg_database_size(current_database())), pg_size_pretty(pg_total_relation_size('trace_lineage'))"))
await using (var reader = await command.ExecuteReaderAsync())
{
    await reader.ReadAsync();
    Console.WriteLine($"{days} days at {tonnes:N0} t/day ({shape.Pastures} pastures, {shape.Plants} plants): {reader.GetInt64(0):N0} lots, {reader.GetInt64(1):N0} edges, {reader.GetInt64(2):N0} lineage rows ({reader.GetString(4)}), database {reader.GetString(3)}");
}

await using (var command = dataSource.CreateCommand("select kind, lot_id from trace_lot where kind in ('product', 'bulk_tank')"))
await using (var reader = await command.ExecuteReaderAsync())
{
    while (await reader.ReadAsync())
    {
        (reader.GetString(0) == LotKinds.Product ? productIds : bulkIds).Add(reader.GetString(1));
    }
}

var trace = new ChainQueries(dataSource, Options.Create(new TraceabilityOptions()));
var traceWithAnimals = new ChainQueries(dataSource, Options.Create(new TraceabilityOptions()), new TableLotAnimalSource(dataSource));
var regulator = CallerScope.CityRegulator;
var rows = 0L;
LotRef RandomProduct(Random random) => new(LotKinds.Product, productIds[random.Next(productIds.Count)]);
LotRef RandomBulk(Random random) => new(LotKinds.BulkTank, bulkIds[random.Next(bulkIds.Count)]);

// Both paths must give the same answers before their times mean anything.
var verify = (int)Arg("--verify", 200);
var animalsSeen = 0;
for (var i = 0; i < verify; i++)
{
    var product = RandomProduct(new Random(77 + i));
    var byLineage = await traceWithAnimals.TraceBackAsync(regulator, product, default);
    var recursive = await trace.RecursiveTraceBackAsync(regulator, product, default);
    if (Describe(byLineage.Graph) != Describe(recursive.Graph))
    {
        throw new InvalidOperationException($"The lineage and recursive answers differ for {product}.");
    }

    animalsSeen += byLineage.Animals!.Count;
}

Console.WriteLine($"verified: {verify} trace backs answer the same by lineage and by the recursive walk ({animalsSeen / (double)Math.Max(1, verify):0.0} bulk-tank lots with animals per answer)");

var rounds = (int)Arg("--rounds", 1);
for (var round = 1; round <= rounds; round++)
{
    Console.WriteLine($"round {round} of {rounds}, load average {File.ReadAllText("/proc/loadavg").Trim()}");
    var baseline = await MeasureAsync("primary-key lookup", async random =>
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        var lot = await ChainQueries.FindLotAsync(connection, RandomProduct(random), default);
        Interlocked.Add(ref rows, lot is null ? 0 : 1);
    });
    var recursive = await MeasureAsync("trace back, recursive walk", async random =>
        Interlocked.Add(ref rows, (await trace.RecursiveTraceBackAsync(regulator, RandomProduct(random), default)).Graph.Edges.Count));
    var lineage = await MeasureAsync("trace back, lineage", async random =>
        Interlocked.Add(ref rows, (await trace.TraceBackAsync(regulator, RandomProduct(random), default)).Graph.Edges.Count));
    var animals = await MeasureAsync("trace back, lineage + animals", async random =>
        Interlocked.Add(ref rows, (await traceWithAnimals.TraceBackAsync(regulator, RandomProduct(random), default)).Graph.Edges.Count));
    var forward = await MeasureAsync("trace forward (recursive walk)", async random =>
        Interlocked.Add(ref rows, (await trace.TraceForwardAsync(regulator, RandomBulk(random), default)).Graph.Edges.Count));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  p99 / baseline p99: recursive {recursive.P99 / baseline.P99:0.0}x, lineage {lineage.P99 / baseline.P99:0.0}x, lineage + animals {animals.P99 / baseline.P99:0.0}x, forward {forward.P99 / baseline.P99:0.0}x; lineage / recursive: p50 {lineage.P50 / recursive.P50:0.00}, p99 {lineage.P99 / recursive.P99:0.00}"));
}

// The write path's price: a late pickup into a tanker load already blended and bottled (its product lots' lineage is
// recomputed in the write's transaction), one at a time, against the same pickup into a load with nothing below it yet.
var store = new ChainStore(dataSource);
var writes = (int)Arg("--writes", 200);
double late = 0, fresh = 0;
for (var i = 0; i < writes; i++)
{
    var random = new Random(500 + i);
    var load = new LotRef(LotKinds.TankerLoad, $"T{random.Next(days):000}-{random.Next(300):00000}");
    var write = new ChainWrite();
    write.Lots.Add(new LotNode { Kind = LotKinds.BulkTank, LotId = $"LATE-{i}", PastureId = "P-LATE", Kg = 100, At = DateTimeOffset.UtcNow });
    write.Edges.Add(new EdgeWrite(new LotRef(LotKinds.BulkTank, $"LATE-{i}"), load, 100, DateTimeOffset.UtcNow, 3.9));
    var start = Stopwatch.GetTimestamp();
    await store.ApplyAsync([write], default);
    late += Stopwatch.GetElapsedTime(start).TotalMilliseconds;

    var alone = new ChainWrite();
    alone.Lots.Add(new LotNode { Kind = LotKinds.BulkTank, LotId = $"NEW-{i}", PastureId = "P-LATE", Kg = 100, At = DateTimeOffset.UtcNow });
    alone.Edges.Add(new EdgeWrite(new LotRef(LotKinds.BulkTank, $"NEW-{i}"), new LotRef(LotKinds.TankerLoad, $"NEWLOAD-{i}"), 100, DateTimeOffset.UtcNow, 3.9));
    start = Stopwatch.GetTimestamp();
    await store.ApplyAsync([alone], default);
    fresh += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"write path, one caller: a late pickup into a bottled load {late / writes:0.00} ms, a pickup into a new load {fresh / writes:0.00} ms (mean of {writes})"));
Console.WriteLine($"load average {File.ReadAllText("/proc/loadavg").Trim()}");

IEnumerable<LotNode> AllLots()
{
    for (var d = 0; d < days; d++)
    {
        foreach (var lot in shape.Day(d).Lots)
        {
            yield return lot;
        }
    }
}

IEnumerable<EdgeWrite> AllEdges()
{
    for (var d = 0; d < days; d++)
    {
        foreach (var edge in shape.Day(d).Edges)
        {
            yield return edge;
        }
    }
}

static string Describe(ChainGraph graph) =>
    string.Join("\n", graph.Lots.OrderBy(l => l.Key).Select(l => l.Value.ToString()))
    + string.Join("\n", graph.Edges.OrderBy(e => e.Parent).ThenBy(e => e.Child).Select(e => e.ToString()))
    + string.Join("\n", graph.QualityChecks.Select(q => q.ToString()).Order(StringComparer.Ordinal));

async Task<(double P50, double P99)> MeasureAsync(string name, Func<Random, Task> call)
{
    rows = 0;
    // Warm-up with the same concurrency, so the pool's connections are open before anything is timed.
    await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
    {
        for (var i = 0; i < 20; i++)
        {
            await call(new Random(-1 - (c * 100) - i));
        }
    })));

    rows = 0;
    var latencies = new double[queries];
    var next = -1;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
    {
        var random = new Random(1000 + c);
        for (int i; (i = Interlocked.Increment(ref next)) < queries;)
        {
            var start = Stopwatch.GetTimestamp();
            await call(random);
            latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
    })));
    Array.Sort(latencies);
    var p50 = latencies[queries / 2];
    var p99 = latencies[(int)(queries * 0.99)];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name,-32} {callers} callers, {queries} calls: p50 {p50:0.00} ms, p99 {p99:0.00} ms, max {latencies[^1]:0.00} ms, {queries / clock.Elapsed.TotalSeconds:0} calls/s, {rows / (double)queries:0.0} edges per answer"));
    return (p50, p99);
}

// The animal hop's table, of the shape the animals component's lot source reads (one row per bulk-tank lot: animals
// milked into it, their milk, ear tags under withdrawal, colostrum, sample ear tags), filled for every bulk-tank lot:
// about 30 kg a cow a day, so a half-day's tank of N kg holds N / 15 animals; one lot in 200 with an animal under
// withdrawal. A bench table, not the animals component's (issue 17's helper C owns that).
static async Task LoadAnimalsAsync(NpgsqlDataSource dataSource)
{
    await using var command = dataSource.CreateCommand(
        """
        create table bench_lot_animals (
            bulk_tank_lot_id text primary key, animals int not null, milk_kg numeric not null,
            under_withdrawal text[] not null, colostrum boolean not null, sample_ear_tags text[] not null);
        insert into bench_lot_animals
        select lot_id, greatest(1, (kg / 15)::int), kg::numeric,
               case when id % 200 = 0 then array['150121' || lpad((id % 1000000000)::text, 9, '0')] else '{}' end,
               id % 997 = 0,
               array['150121' || lpad(((id * 7) % 1000000000)::text, 9, '0'), '150121' || lpad(((id * 13) % 1000000000)::text, 9, '0')]
        from trace_lot where kind = 'bulk_tank';
        analyze bench_lot_animals;
        """);
    command.CommandTimeout = 0;
    await command.ExecuteNonQueryAsync();
}

// Quality checks as the audits component (issue 5, migration 0200) stores them, so the traces' quality lookup reads a
// real table: a plant acceptance test of every tanker load and a check of every tenth bulk-tank and product lot.
static async Task EnsureQualityResultsAsync(NpgsqlDataSource dataSource)
{
    await using var connection = await dataSource.OpenConnectionAsync();
    await using (var exists = new NpgsqlCommand("select to_regclass('quality_result') is not null", connection))
    {
        if ((bool)(await exists.ExecuteScalarAsync())!)
        {
            return;
        }
    }

    var clock = Stopwatch.StartNew();
    await using var command = new NpgsqlCommand(
        """
        create table quality_result (
            sample_id text primary key, lot_kind text not null, lot_id text not null, sample_kind text not null,
            sampled_at timestamptz not null, verdict text not null, rule_version text not null, items jsonb not null);
        insert into quality_result
        select 'Q-' || kind || '-' || lot_id,
               case kind when 'bulk_tank' then 'bulk_tank_lot' when 'product' then 'product_lot' else kind end, lot_id,
               case kind when 'bulk_tank' then 'pasture_self_check' when 'product' then 'supervisory' else 'plant_acceptance' end,
               at + interval '1 hour', 'pass', 'GB19301-2010+A1',
               '[{"item": "fat", "unit": "g/100g", "value": 3.6, "verdict": "pass"}, {"item": "freezing_point", "unit": "°C", "value": -0.52, "verdict": "pass"}]'::jsonb
        from trace_lot where kind = 'tanker_load' or (kind in ('bulk_tank', 'product') and id % 10 = 0);
        create index quality_result_lot on quality_result (lot_kind, lot_id);
        analyze quality_result;
        """, connection);
    command.CommandTimeout = 0;
    await command.ExecuteNonQueryAsync();
    Console.WriteLine($"quality_result filled in {clock.Elapsed.TotalSeconds:0} s");
}

static string FindProfile()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        var candidate = Path.Combine(dir.FullName, "firmware-sim", "profiles", "city-2023.json");
        if (File.Exists(candidate))
        {
            return candidate;
        }
    }

    throw new FileNotFoundException("firmware-sim/profiles/city-2023.json not found above the binaries; pass --profile.");
}

double Arg(string name, double fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? double.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}

string? ArgText(string name)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

/// <summary>The bench's animal hop: one indexed read of <c>bench_lot_animals</c> by the answer's bulk-tank lot ids.</summary>
internal sealed class TableLotAnimalSource(NpgsqlDataSource dataSource) : ILotAnimalSource
{
    public async Task<IReadOnlyDictionary<string, LotAnimals>> ReadAsync(IReadOnlyCollection<string> bulkTankLotIds, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "select bulk_tank_lot_id, animals, milk_kg, under_withdrawal, colostrum, sample_ear_tags from bench_lot_animals where bulk_tank_lot_id = any($1)");
        command.Parameters.AddWithValue(bulkTankLotIds.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var found = new Dictionary<string, LotAnimals>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            found[reader.GetString(0)] = new LotAnimals(reader.GetString(0), reader.GetInt32(1), reader.GetDecimal(2),
                reader.GetFieldValue<string[]>(3), reader.GetBoolean(4), reader.GetFieldValue<string[]>(5));
        }

        return found;
    }
}

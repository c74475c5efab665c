using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.LoadBench;

/// <summary>The points the platform writes for a recorded run, encoded once, in the platform's own encoder.</summary>
internal sealed class PointSet
{
    public required List<(byte[] Lines, int Points)> Chunks { get; init; }
    public long Points { get; init; }
    public long Bytes { get; init; }

    /// <summary>
    /// Parses every payload of the core kinds as ingestion does and encodes it with <see cref="ReadingPointEncoder"/>,
    /// in chunks of <paramref name="pointsPerChunk"/>. The other kinds (about 2 % of a day) are encoded by their own
    /// kinds in the platform; here each gets a point of the same size class (its kind as
    /// measurement, county, device and owner tags, kg and seq fields, at the point time the platform uses).
    /// County ids come from the fleet's registry document (owner -> county).
    /// </summary>
    public static PointSet Build(IReadOnlyList<RecordedMessage> messages, IReadOnlyDictionary<string, string> countyOfOwner, int pointsPerChunk)
    {
        var parser = ParsingOnlyKinds.Parser(TimeProvider.System);
        var chunks = new List<(byte[], int)>();
        var writer = new LineProtocolWriter(256 * pointsPerChunk);
        long points = 0, bytes = 0;
        foreach (var message in messages)
        {
            if (message.Kind > RecordedMessage.PlantIntake)
            {
                var ownerKind = message.Topic.Contains("/plant/", StringComparison.Ordinal) ? "plant" : "pasture";
                writer.Measurement(message.KindName)
                    .Tag("county", countyOfOwner.TryGetValue(message.OwnerId, out var ownerCounty) ? ownerCounty : "unknown")
                    .Tag("device", message.DeviceId).Tag(ownerKind, message.OwnerId)
                    .Field("kg", message.Kg).Field("seq", message.Seq)
                    .Timestamp(LineProtocolWriter.TimestampFor(DateTimeOffset.FromUnixTimeMilliseconds(message.PointTimeUnixMs), message.Seq));
                if (writer.PointCount == pointsPerChunk)
                {
                    Flush();
                }

                continue;
            }

            if (!parser.TryParse(message.Topic, message.Payload, out var parsed, out var rejection))
            {
                throw new InvalidDataException($"recorded message on {message.Topic} does not validate: {rejection.Reason} {rejection.Detail}");
            }

            var owner = parsed!.Topic.OwnerId;
            var county = countyOfOwner.TryGetValue(owner, out var c) ? c : throw new InvalidDataException($"owner {owner} is not in the registry");
            var device = new DeviceContext { DeviceId = parsed.Key.DeviceId, OwnerKind = OwnerKinds.Name(parsed.Topic.OwnerKind), OwnerId = owner, CountyId = county };
            if (parsed.Record.TryGet<MilkingDraft>(out var m))
            {
                ReadingPointEncoder.Write(writer, new Accepted<MilkingDraft>(parsed.Key, parsed.EventTime, device, message.Topic, m).ToReading());
            }
            else if (parsed.Record.TryGet<BulkTankDraft>(out var b))
            {
                ReadingPointEncoder.Write(writer, new Accepted<BulkTankDraft>(parsed.Key, parsed.EventTime, device, message.Topic, b).ToReading());
            }
            else if (parsed.Record.TryGet<PlantIntakeDraft>(out var p))
            {
                ReadingPointEncoder.Write(writer, new Accepted<PlantIntakeDraft>(parsed.Key, parsed.EventTime, device, message.Topic, p).ToReading());
            }
            else
            {
                throw new InvalidDataException("not a core kind: " + message.Topic);
            }

            if (writer.PointCount == pointsPerChunk)
            {
                Flush();
            }
        }

        Flush();
        return new PointSet { Chunks = chunks, Points = points, Bytes = bytes };

        void Flush()
        {
            if (writer.PointCount == 0)
            {
                return;
            }

            chunks.Add((writer.WrittenMemory.ToArray(), writer.PointCount));
            points += writer.PointCount;
            bytes += writer.WrittenMemory.Length;
            writer.Clear();
        }
    }
}

/// <summary>InfluxDB 1.x over its HTTP API: the bare loader, the platform's writer in-process, and counts.</summary>
internal sealed class InfluxBench(string url) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = new Uri(url.TrimEnd('/') + "/"),
        Timeout = TimeSpan.FromMinutes(2),
    };

    public string Url { get; } = url;

    public async Task QueryAsync(string q, string? db = null)
    {
        using var content = new FormUrlEncodedContent(new Dictionary<string, string> { ["q"] = q });
        using var response = await _http.PostAsync("query" + (db is null ? "" : "?db=" + Uri.EscapeDataString(db)), content);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Points with a <c>seq</c> field in [from, to), over every measurement but a TMR load's ingredient points: one per message.</summary>
    public async Task<long> CountAsync(string db, DateTimeOffset from, DateTimeOffset to)
    {
        var q = string.Create(CultureInfo.InvariantCulture,
            $"SELECT count(\"seq\") FROM /.*/ WHERE time >= {from.ToUnixTimeMilliseconds()}ms AND time < {to.ToUnixTimeMilliseconds()}ms");
        using var response = await _http.GetAsync("query?db=" + Uri.EscapeDataString(db) + "&q=" + Uri.EscapeDataString(q));
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
        long total = 0;
        foreach (var result in json.RootElement.GetProperty("results").EnumerateArray())
        {
            if (!result.TryGetProperty("series", out var series))
            {
                continue;
            }

            foreach (var s in series.EnumerateArray())
            {
                // A TMR load's ingredients are points of their own beside the load's one point per message.
                if (s.GetProperty("name").GetString() == "tmr_ingredient")
                {
                    continue;
                }

                foreach (var row in s.GetProperty("values").EnumerateArray())
                {
                    total += row[1].GetInt64();
                }
            }
        }

        return total;
    }

    /// <summary>The bare loader: one HTTP POST per chunk, one request at a time (the platform's writer also has one in flight).</summary>
    public async Task<TimeSpan> WriteRawAsync(string db, PointSet points, int concurrency = 1)
    {
        var uri = new Uri("write?db=" + Uri.EscapeDataString(db) + "&precision=ns", UriKind.Relative);
        var next = -1;
        var watch = Stopwatch.StartNew();
        var workers = new Task[concurrency];
        for (var w = 0; w < concurrency; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < points.Chunks.Count)
                {
                    using var content = new ByteArrayContent(points.Chunks[i].Lines);
                    content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
                    using var response = await _http.PostAsync(uri, content);
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new HttpRequestException($"InfluxDB write failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }
            });
        }

        await Task.WhenAll(workers);
        return watch.Elapsed;
    }

    /// <summary>
    /// The platform's <see cref="InfluxLineWriter"/> as the ingestion pipeline drives it: <paramref name="producers"/>
    /// concurrent batches, each handing in one chunk and awaiting it. <paramref name="points"/> must be chunked like
    /// the pipeline's batches (MaxBatchMessages points per chunk).
    /// </summary>
    public async Task<TimeSpan> WriteWithPlatformWriterAsync(string db, PointSet points, int producers, InfluxOptions template)
    {
        var options = new InfluxOptions
        {
            Url = Url,
            Database = db,
            MaxBatchPoints = template.MaxBatchPoints,
            FlushInterval = template.FlushInterval,
            QueueCapacity = template.QueueCapacity,
            MaxRetryDelay = template.MaxRetryDelay,
            RequestTimeout = template.RequestTimeout,
        };
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var writer = new InfluxLineWriter(Options.Create(options), services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            NullLogger<InfluxLineWriter>.Instance);
        using var stop = new CancellationTokenSource();
        await writer.StartAsync(stop.Token);
        var next = -1;
        var watch = Stopwatch.StartNew();
        var workers = new Task[producers];
        for (var w = 0; w < producers; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < points.Chunks.Count)
                {
                    await writer.WriteAsync(points.Chunks[i].Lines, points.Chunks[i].Points);
                }
            });
        }

        await Task.WhenAll(workers);
        var elapsed = watch.Elapsed;
        await writer.StopAsync(CancellationToken.None);
        return elapsed;
    }

    public void Dispose() => _http.Dispose();
}

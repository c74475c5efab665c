using System.Text.Json;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>InfluxQL over InfluxDB's v1 <c>/query</c> endpoint (the test servers', unless given another server's URL).</summary>
public sealed class InfluxQuery(string database, string? url = null)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task<JsonElement> ExecuteAsync(string influxQl)
    {
        var uri = $"{(url ?? TestServers.InfluxUrl).TrimEnd('/')}/query?db={Uri.EscapeDataString(database)}&epoch=ns&q={Uri.EscapeDataString(influxQl)}";
        using var response = await Http.PostAsync(uri, null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"InfluxQL failed ({(int)response.StatusCode}): {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    /// <summary>count and sum of a field, optionally filtered by an InfluxQL WHERE clause.</summary>
    public async Task<(long Count, double Sum)> CountAndSumAsync(string measurement, string field, string where = "")
    {
        var q = $"SELECT count(\"{field}\"), sum(\"{field}\") FROM \"{measurement}\"" + (where.Length > 0 ? " WHERE " + where : "");
        var result = await ExecuteAsync(q);
        var statement = result.GetProperty("results")[0];
        if (!statement.TryGetProperty("series", out var series))
        {
            return (0, 0);
        }

        var values = series[0].GetProperty("values")[0];
        return (values[1].GetInt64(), values[2].GetDouble());
    }
}

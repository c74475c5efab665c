namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>Stops, kills and starts one of the test servers through deploy/servers.sh (by PID, never by name).</summary>
public static class ServerControl
{
    public static Task StopAsync(string server) => RunAsync("stop-one", server);

    public static Task KillAsync(string server) => RunAsync("kill-one", server);

    public static Task StartAsync(string server) => RunAsync("start-one", server);

    /// <summary>SIGSTOP: the server holds its connections and answers nothing (influx or mqtt).</summary>
    public static Task FreezeAsync(string server) => RunAsync("freeze-one", server);

    public static Task ThawAsync(string server) => RunAsync("thaw-one", server);

    private static async Task RunAsync(string verb, string server)
    {
        var instance = new Dictionary<string, string>();
        foreach (var name in new[] { "HOHHOT_DATA_DIR", "HOHHOT_PG_PORT", "HOHHOT_MQTT_PORT", "HOHHOT_INFLUX_PORT", "HOHHOT_INFLUX_RPC_PORT", "HOHHOT_MQTT_INGEST_PASSWORD" })
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                instance[name] = value;
            }
        }

        await ChildProcess.RequireDeployScriptAsync("servers.sh", [verb, server], instance);
        if (server == "pg")
        {
            // This process's pooled connections died with the server (57P01 on first use): forget them.
            Npgsql.NpgsqlConnection.ClearAllPools();
        }
    }
}

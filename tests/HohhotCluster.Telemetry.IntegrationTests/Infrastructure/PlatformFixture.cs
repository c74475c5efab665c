namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>One platform for a test class, run in New York's time zone to prove the business day does not follow the server's.</summary>
public sealed class PlatformFixture : IAsyncLifetime
{
    public PlatformProcess Platform { get; private set; } = null!;

    public async Task InitializeAsync() => Platform = await PlatformProcess.StartAsync("America/New_York");

    public async Task DisposeAsync() => await Platform.DisposeAsync();
}

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

public static class Eventually
{
    /// <summary>Polls until the condition holds or the time is up; returns the last value either way so the caller asserts on it.</summary>
    public static async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(200);
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet.AspNetCore;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace HohhotCluster.Telemetry.LoadBench;

/// <summary>
/// The raw-endpoint baseline: MQTTnet 5's server behind Kestrel on loopback, as the platform serves it (same
/// <c>MqttConnectionHandler</c>, same <c>InterceptingPublishAsync</c> shape with <c>ProcessPublish = false</c>), that
/// only checks the gateway's login against the bench's credentials file and acknowledges every publish at once:
/// no packet length guard, no parsing, no store. Runs as <c>hohhot-loadbench raw-endpoint</c>, its own process, so its
/// CPU is counted apart from the publisher's; server GC, as the platform host.
/// </summary>
internal static class RawEndpointServer
{
    public static async Task<int> RunAsync(BenchOptions o, CancellationToken cancellationToken)
    {
        var port = o.GetInt("port", 0);
        var passwords = FleetPublisher.ReadCredentials(o.Get("credentials"));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<MqttConnectionHandler>();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseConnectionHandler<MqttConnectionHandler>()));
        await using var app = builder.Build();
        var handler = app.Services.GetRequiredService<MqttConnectionHandler>();
        using var server = new MqttServer(new MqttServerOptionsBuilder().WithoutDefaultEndpoint().Build(), [handler], MqttNetNullLogger.Instance);
        long publishes = 0;
        server.ValidatingConnectionAsync += args =>
        {
            if (args.UserName is null || !passwords.TryGetValue(args.UserName, out var expected)
                || args.RawPassword is null || Encoding.UTF8.GetString(args.RawPassword) != expected)
            {
                args.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            }

            return Task.CompletedTask;
        };
        server.InterceptingPublishAsync += args =>
        {
            // Acknowledged, routed nowhere: what the platform does minus everything between receiving and the PUBACK.
            args.ProcessPublish = false;
            Interlocked.Increment(ref publishes);
            return Task.CompletedTask;
        };
        server.InterceptingSubscriptionAsync += args =>
        {
            args.ProcessSubscription = false;
            args.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            return Task.CompletedTask;
        };
        await server.StartAsync();
        await app.StartAsync(cancellationToken);
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"listening on 127.0.0.1:{port}"));
        Console.Out.Flush();
        await app.WaitForShutdownAsync(cancellationToken);
        await server.StopAsync(new MqttServerStopOptions());
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stopped after {Interlocked.Read(ref publishes):N0} publishes"));
        return 0;
    }
}

/// <summary>The raw endpoint as a child process of the bench (started and stopped by its PID).</summary>
internal sealed class RawEndpointProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _pidFile;

    private RawEndpointProcess(Process process, string pidFile)
    {
        _process = process;
        _pidFile = pidFile;
    }

    public int Pid => _process.Id;

    public static async Task<RawEndpointProcess> StartAsync(int port, string credentials, string logPath, string pidFile, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(typeof(RawEndpointProcess).Assembly.Location);
        foreach (var a in new[] { "raw-endpoint", "--port", port.ToString(CultureInfo.InvariantCulture), "--credentials", credentials })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_gcServer"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the raw endpoint");
        await File.WriteAllTextAsync(pidFile, process.Id.ToString(CultureInfo.InvariantCulture) + "\n", cancellationToken);
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (log)
            {
                log.WriteLine(e.Data);
            }

            if (e.Data.StartsWith("listening", StringComparison.Ordinal))
            {
                listening.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync(cancellationToken);
        if (await Task.WhenAny(listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(60), cancellationToken)) != listening.Task)
        {
            throw new InvalidOperationException($"the raw endpoint did not start listening (see {logPath})");
        }

        return new RawEndpointProcess(process, pidFile);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
        }

        File.Delete(_pidFile);
        _process.Dispose();
    }
}

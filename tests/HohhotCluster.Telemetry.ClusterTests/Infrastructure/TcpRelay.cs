using System.Net;
using System.Net.Sockets;

namespace HohhotCluster.Telemetry.ClusterTests.Infrastructure;

/// <summary>
/// Forwards TCP connections from a listening address to a target, byte for byte, both ways. The test servers listen on
/// 127.0.0.1 only; a host inside a <see cref="NetworkNamespace"/> reaches PostgreSQL and InfluxDB through a relay on
/// the namespace's outside address, so the partition's DROP cuts that path too, as it would a real network's.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly List<TcpClient> _open = [];

    public TcpRelay(IPEndPoint listen, IPEndPoint target)
    {
        _target = target;
        _listener = new TcpListener(listen);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public IPEndPoint Listening => (IPEndPoint)_listener.LocalEndpoint;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = RelayAsync(inbound);
        }
    }

    private async Task RelayAsync(TcpClient inbound)
    {
        using var outbound = new TcpClient();
        using (inbound)
        {
            lock (_open)
            {
                _open.Add(inbound);
                _open.Add(outbound);
            }

            try
            {
                await outbound.ConnectAsync(_target, _stop.Token);
                var a = inbound.GetStream();
                var b = outbound.GetStream();
                // Either direction ending ends both: the peer that closed is gone.
                await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
            }
            catch (Exception exception) when (exception is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A connection that broke: its client sees it close, as with the server itself.
            }
            finally
            {
                lock (_open)
                {
                    _open.Remove(inbound);
                    _open.Remove(outbound);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_open)
        {
            foreach (var client in _open)
            {
                client.Dispose();
            }
        }

        await _accepting;
        _stop.Dispose();
    }
}

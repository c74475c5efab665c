using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace HohhotCluster.Telemetry.MqttEndpoint;

/// <summary>
/// Kestrel connection middleware in front of MQTTnet's server, which has no packet size limit and allocates a
/// packet's body as soon as its fixed header announces it, before authentication. The guard reads every fixed header
/// as the bytes pass (type byte, then the 1-4 byte remaining length) and closes the connection when a packet announces
/// more than <see cref="MqttEndpointOptions.MaxPacketBytes"/>, or a malformed length, before any of it is handed on.
/// It also holds the endpoint to <see cref="MqttEndpointOptions.MaxConnections"/>.
/// </summary>
public sealed partial class PacketLengthGuard(MqttEndpointOptions options, EndpointMetrics metrics, ILogger<PacketLengthGuard> logger)
{
    private int _connections;

    public int OpenConnections => Volatile.Read(ref _connections);

    public ConnectionDelegate Wrap(ConnectionDelegate next) => async connection =>
    {
        if (Interlocked.Increment(ref _connections) > options.MaxConnections)
        {
            Interlocked.Decrement(ref _connections);
            metrics.RecordRefusedConnection("too_many_connections");
            connection.Abort(new ConnectionAbortedException("too many connections"));
            return;
        }

        var transport = connection.Transport;
        var checkedInput = new Pipe(new PipeOptions(pauseWriterThreshold: 4 * options.MaxPacketBytes, resumeWriterThreshold: 2 * options.MaxPacketBytes, useSynchronizationContext: false));
        connection.Transport = new GuardedTransport(checkedInput.Reader, transport.Output);
        var pump = PumpAsync(transport.Input, checkedInput.Writer, connection);
        try
        {
            await next(connection);
        }
        finally
        {
            await checkedInput.Reader.CompleteAsync();
            transport.Input.CancelPendingRead();
            await pump;
            connection.Transport = transport;
            Interlocked.Decrement(ref _connections);
        }
    };

    private async Task PumpAsync(PipeReader source, PipeWriter checkedOutput, ConnectionContext connection)
    {
        var scanner = new FixedHeaderScanner(options.MaxPacketBytes);
        Exception? failure = null;
        try
        {
            while (true)
            {
                var read = await source.ReadAsync();
                var buffer = read.Buffer;
                if (read.IsCanceled)
                {
                    break;
                }

                foreach (var segment in buffer)
                {
                    if (!scanner.Scan(segment.Span, out var problem))
                    {
                        metrics.RecordRefusedConnection("packet_too_large");
                        LogRefused(connection.RemoteEndPoint?.ToString() ?? "?", problem);
                        connection.Abort(new ConnectionAbortedException(problem));
                        failure = new InvalidDataException(problem);
                        return;
                    }
                }

                foreach (var segment in buffer)
                {
                    if ((await checkedOutput.WriteAsync(segment)).IsCompleted)
                    {
                        return; // MQTTnet is done with the connection.
                    }
                }

                source.AdvanceTo(buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception exception) when (exception is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException or InvalidOperationException)
        {
            failure = exception;
        }
        finally
        {
            await checkedOutput.CompleteAsync(failure);
        }
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "Closed MQTT connection from {Remote}: {Problem}")]
    private partial void LogRefused(string remote, string problem);

    private sealed class GuardedTransport(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}

/// <summary>Follows MQTT packet boundaries across reads: each fixed header's remaining length, checked against a limit.</summary>
public struct FixedHeaderScanner(int maxRemainingLength)
{
    private long _bodyLeft;
    private int _length;
    private int _shift;
    private bool _inLength;

    /// <summary>Scans the next bytes of the stream; false (with the problem) at the first header over the limit or malformed.</summary>
    public bool Scan(ReadOnlySpan<byte> bytes, out string problem)
    {
        problem = "";
        var i = 0;
        while (i < bytes.Length)
        {
            if (_bodyLeft > 0)
            {
                var skip = (int)Math.Min(_bodyLeft, bytes.Length - i);
                _bodyLeft -= skip;
                i += skip;
                continue;
            }

            if (!_inLength)
            {
                // The packet type and flags byte; the remaining length follows.
                _inLength = true;
                _length = 0;
                _shift = 0;
                i++;
                continue;
            }

            var b = bytes[i++];
            _length |= (b & 0x7F) << _shift;
            _shift += 7;
            if ((b & 0x80) != 0)
            {
                if (_shift >= 28)
                {
                    problem = "malformed remaining length (more than 4 bytes)";
                    return false;
                }

                continue;
            }

            _inLength = false;
            if (_length > maxRemainingLength)
            {
                problem = $"packet of {_length} bytes announced, limit {maxRemainingLength}";
                return false;
            }

            _bodyLeft = _length;
        }

        return true;
    }
}

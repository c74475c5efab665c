using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// Turns what escapes a service into a status a caller can act on: storage or cluster trouble is UNAVAILABLE
/// (retry), anything else INTERNAL with a neutral message. Never a stack trace or server text to the caller.
/// </summary>
public sealed partial class RpcExceptionInterceptor(ILogger<RpcExceptionInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (Exception exception) when (IsUnavailable(exception))
        {
            LogUnavailable(context.Method, exception);
            throw new RpcException(new Status(StatusCode.Unavailable, "A storage or cluster dependency is unavailable; retry shortly."));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogFailed(context.Method, exception);
            throw new RpcException(new Status(StatusCode.Internal, "The request failed inside the platform; it has been logged."));
        }
    }

    /// <summary>A storage or cluster dependency is away: the caller should retry (UNAVAILABLE), nothing is wrong with the call.</summary>
    internal static bool IsUnavailable(Exception exception) => exception switch
    {
        NpgsqlException or TimeoutException or System.Net.Sockets.SocketException => true,
        OrleansException or SiloUnavailableException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsUnavailable),
        _ => exception.InnerException is { } inner && IsUnavailable(inner),
    };

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "{Method} answered UNAVAILABLE")]
    private partial void LogUnavailable(string method, Exception exception);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Error, Message = "{Method} failed")]
    private partial void LogFailed(string method, Exception exception);
}

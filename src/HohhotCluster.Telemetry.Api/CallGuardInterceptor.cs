using System.Diagnostics;
using System.Threading.RateLimiting;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// The platform's trust boundary, in front of every gRPC method: a valid bearer token (else UNAUTHENTICATED), a
/// request within the contract's limits (else INVALID_ARGUMENT, before any lookup), an account that the token still
/// stands for, a row of <see cref="AccessPolicy"/> that lets its organisation kind and role call the method (else
/// PERMISSION_DENIED), and the account's rate (else RESOURCE_EXHAUSTED). The verified <see cref="Caller"/> is handed
/// to the service through <see cref="CallerContext"/>; every call, refused ones too, goes to the access log (an export
/// or trace is answered only once its row is committed, <see cref="AccessPolicy.AlwaysLogged"/>). Status
/// details are cut to a short length, so nothing a caller sent is echoed at length.
/// </summary>
public sealed partial class CallGuardInterceptor : Interceptor, IDisposable
{
    public const int MaxDetailLength = 300;

    /// <summary>The trailer that tells a refusal of the access policy from a refusal of the service (docs/access.md).</summary>
    private static Metadata RefusedByPolicy => new() { { "hohhot-refused-by", "access-policy" } };

    private readonly CallerDirectory _callers;
    private readonly AccessLog _log;
    private readonly ApiMetrics _metrics;
    private readonly TimeProvider _clock;
    private readonly ILogger<CallGuardInterceptor> _logger;
    private readonly PartitionedRateLimiter<string> _rates;

    public CallGuardInterceptor(CallerDirectory callers, AccessLog log, ApiMetrics metrics, IOptions<IdentityOptions> options, TimeProvider clock, ILogger<CallGuardInterceptor> logger)
    {
        _callers = callers;
        _log = log;
        _metrics = metrics;
        _clock = clock;
        _logger = logger;
        var rate = options.Value.CallsPerSecond;
        _rates = PartitionedRateLimiter.Create<string, string>(account => RateLimitPartition.GetTokenBucketLimiter(account, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = rate * 2,
            TokensPerPeriod = rate,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }), StringComparer.Ordinal);
    }

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var response = default(TResponse)!;
        await GuardAsync(request, context, async () => response = await continuation(request, context));
        return response;
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        GuardAsync(request, context, () => continuation(request, responseStream, context));

    /// <summary>Admits the call, runs it and logs its outcome against the caller the guard verified (if it got that far).</summary>
    private async Task GuardAsync<TRequest>(TRequest request, ServerCallContext context, Func<Task> call)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await AdmitAsync(request, context);
            await call();
            await RecordAsync(context, request, StatusCode.OK, "", started);
        }
        catch (RpcException exception)
        {
            await RecordAsync(context, request, exception.StatusCode, exception.Status.Detail, started);
            throw Shortened(exception);
        }
        catch (Exception exception) when (RpcExceptionInterceptor.IsUnavailable(exception) && !context.CancellationToken.IsCancellationRequested)
        {
            // The guard's own lookups (the caller's account, the access log) need PostgreSQL: away, the call is to be retried.
            await RecordAsync(context, request, StatusCode.Unavailable, "", started);
            throw new RpcException(new Status(StatusCode.Unavailable, "A storage or cluster dependency is unavailable; retry shortly."));
        }
        catch (Exception) when (!context.CancellationToken.IsCancellationRequested)
        {
            await RecordAsync(context, request, StatusCode.Internal, "", started);
            throw;
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AdmitAsync<TRequest>(null, context);
        await continuation(requestStream, responseStream, context);
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AdmitAsync<TRequest>(null, context);
        return await continuation(requestStream, context);
    }

    /// <summary>Everything a call must pass before its service runs; the verified caller is left in <see cref="CallerContext"/>.</summary>
    private async Task AdmitAsync<TRequest>(TRequest? request, ServerCallContext context)
    {
        var method = context.Method;
        if (AccessPolicy.IsAnonymous(method))
        {
            return;
        }

        var http = context.GetHttpContext();
        var authenticated = await http.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        if (!authenticated.Succeeded)
        {
            var why = authenticated.Failure switch
            {
                SecurityTokenExpiredException => "The bearer token has expired; get a new one from /connect/token.",
                null => "A bearer token is required (authorization: Bearer <token> from /connect/token).",
                _ => "The bearer token is not valid.",
            };
            throw new RpcException(new Status(StatusCode.Unauthenticated, why));
        }

        if (request is IMessage message && RequestHygiene.Check(message) is { } problem)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, problem));
        }

        var (caller, refusal) = await _callers.ResolveAsync(authenticated.Principal!, context.CancellationToken);
        if (caller is null)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, refusal switch
            {
                CallerRefusal.Disabled => "The account or its organisation is disabled.",
                CallerRefusal.SecretRotated => "The account's secret was changed after this token was issued; log in again.",
                _ => "The token does not name an account of this platform.",
            }));
        }

        // Known from here on, so that a refusal below is logged against the account.
        CallerContext.Set(context, caller);
        if (AccessPolicy.IsReflection(method))
        {
            return;
        }

        if (!AccessPolicy.Rules.TryGetValue(method, out var rule))
        {
            LogNoRule(method);
            throw new RpcException(new Status(StatusCode.PermissionDenied, "This method is not open to any caller (it has no access rule)."), RefusedByPolicy);
        }

        if (!rule.Allows(caller))
        {
            var needed = rule.MinimumRole(caller.Kind);
            throw new RpcException(new Status(StatusCode.PermissionDenied, needed is { } role
                ? $"This method needs the {IdentityNames.Of(role)} role in your organisation."
                : $"A {IdentityNames.Of(caller.Kind)} organisation may not call this method."), RefusedByPolicy);
        }

        using var lease = _rates.AttemptAcquire(caller.AccountId);
        if (!lease.IsAcquired)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, "Too many calls from this account; slow down and retry."));
        }
    }

    private async ValueTask RecordAsync(ServerCallContext context, object? request, StatusCode status, string detail, long started)
    {
        _metrics.RecordCall(context.Method, StatusName(status), Stopwatch.GetElapsedTime(started));
        if (AccessPolicy.IsAnonymous(context.Method))
        {
            return;
        }

        var caller = CallerContext.Find(context);
        var entry = new AccessLogEntry
        {
            At = _clock.GetUtcNow(),
            AccountId = caller?.AccountId,
            OrganisationId = caller?.OrganisationId,
            Method = context.Method,
            Request = Summary(request),
            Status = StatusName(status),
            Detail = TextLimits.Shorten(detail, MaxDetailLength),
            DurationMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            Peer = TextLimits.Shorten(context.Peer, 100),
        };
        if (status == StatusCode.OK && AccessPolicy.AlwaysLogged.Contains(context.Method))
        {
            try
            {
                await _log.RecordNowAsync(entry, context.CancellationToken);
            }
            catch (Exception exception) when (exception is Npgsql.NpgsqlException or TimeoutException)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, "The access log cannot be written; the answer is withheld until it can. Retry shortly."));
            }
        }
        else
        {
            await _log.RecordAsync(entry, CancellationToken.None);
        }
    }

    /// <summary>The request for the log: as JSON when small, otherwise only its size (an EPCIS document is not copied).</summary>
    private static string Summary(object? request)
    {
        if (request is not IMessage message)
        {
            return "";
        }

        var size = message.CalculateSize();
        if (size > 2048)
        {
            return $"({size} bytes)";
        }

        // Passwords and secrets never reach the log: a copy with them replaced is what is written.
        IMessage? redacted = null;
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            if (field.FieldType == Google.Protobuf.Reflection.FieldType.String && field.Name.Contains("password", StringComparison.Ordinal)
                && field.Accessor.GetValue(message) is string { Length: > 0 })
            {
                redacted ??= message.Descriptor.Parser.ParseFrom(message.ToByteString());
                field.Accessor.SetValue(redacted, "[redacted]");
            }
        }

        return TextLimits.Shorten(JsonFormatter.Default.Format(redacted ?? message), 1000);
    }

    private static RpcException Shortened(RpcException exception) =>
        exception.Status.Detail.Length <= MaxDetailLength
            ? exception
            : new RpcException(new Status(exception.StatusCode, TextLimits.Shorten(exception.Status.Detail, MaxDetailLength)), exception.Trailers);

    /// <summary>The status code's name as gRPC spells it (OK, PERMISSION_DENIED, ...): the enum's name in upper snake case.</summary>
    public static string StatusName(StatusCode status) =>
        status == StatusCode.OK ? "OK" : UpperSnake().Replace(status.ToString(), "$1_$2").ToUpperInvariant();

    [System.Text.RegularExpressions.GeneratedRegex("([a-z])([A-Z])")]
    private static partial System.Text.RegularExpressions.Regex UpperSnake();

    public void Dispose() => _rates.Dispose();

    [LoggerMessage(EventId = 6201, Level = LogLevel.Error, Message = "{Method} has no row in the access policy; refused")]
    private partial void LogNoRule(string method);
}

/// <summary>The verified caller of the current call, as the guard left it for the service.</summary>
public static class CallerContext
{
    private const string Key = "hohhot.caller";

    public static void Set(ServerCallContext context, Caller caller) => context.UserState[Key] = caller;

    /// <summary>The caller once the guard has verified it, else null.</summary>
    public static Caller? Find(ServerCallContext context) => context.UserState.TryGetValue(Key, out var caller) ? caller as Caller : null;

    /// <summary>The caller; a service reached without the guard is a wiring error, never an anonymous call.</summary>
    public static Caller Caller(this ServerCallContext context) =>
        context.UserState.TryGetValue(Key, out var caller) && caller is Caller known
            ? known
            : throw new InvalidOperationException("The call guard did not run for " + context.Method);
}

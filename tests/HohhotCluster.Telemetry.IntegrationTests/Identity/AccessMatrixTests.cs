using System.Reflection;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.Identity;

/// <summary>
/// The platform's trust boundary, tried from outside as every kind of caller: every method the protos define is
/// called through real gRPC as nobody, with a bad token, with an expired token and as each role of each
/// organisation kind, and each answer is compared with the table of docs/access.md. Refused callers send a real
/// write (a device move, a new organisation, an account in the operator's organisation, ...) and the database must
/// be unchanged; every call must be in the access log.
/// </summary>
public sealed partial class AccessMatrixTests(IdentityPlatform fixture) : IClassFixture<IdentityPlatform>
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    [Fact]
    public void EveryMethodTheProtosDefineHasARowInTheAccessTableAndNoRowNamesAMethodThatDoesNotExist()
    {
        var table = AccessTable.Load();
        var methods = Methods().Select(m => m.Path).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(methods.Except(table.Keys));
        Assert.Empty(table.Keys.Except(methods));
    }

    [Fact]
    public async Task EveryMethodAnswersEveryCallerAsTheAccessTableSaysAndARefusedWriteChangesNothing()
    {
        var table = AccessTable.Load();
        var platform = fixture.Platform;
        var before = await DatabaseDigestAsync(platform);
        var failures = new List<string>();
        using var nobody = new PlatformConnection(platform.ApiUrl, new PlatformCredential.Token(""));
        using var forged = new PlatformConnection(platform.ApiUrl, new PlatformCredential.Token("eyJhbGciOiJub25lIn0.eyJzdWIiOiJvcGVyYXRvciJ9."));
        using var expired = new PlatformConnection(platform.ApiUrl, new PlatformCredential.Token(fixture.ExpiredOperatorToken()));
        using var anonymous = nobody.AnonymousChannel();
        foreach (var method in Methods())
        {
            foreach (var (name, connection, expectExpired) in new[] { ("nobody", anonymous, false), ("a forged token", forged.Channel, false), ("an expired token", expired.Channel, true) })
            {
                var (status, detail, _) = await CallAsync(connection, method, WriteAttempt(method));
                if (status != StatusCode.Unauthenticated || (expectExpired && !detail.Contains("expired", StringComparison.Ordinal)))
                {
                    failures.Add($"{method.Path} as {name}: {status} ({detail})");
                }
            }

            foreach (var ((kind, role), caller) in fixture.Callers)
            {
                var allowed = table[method.Path].Allows(kind, role);
                // An admitted caller sends an empty request (which changes nothing); a refused one a real write.
                var (status, detail, byPolicy) = await CallAsync(caller.Channel, method, allowed ? [] : WriteAttempt(method));
                var refused = status == StatusCode.PermissionDenied && byPolicy;
                if (allowed == refused || status == StatusCode.Unauthenticated)
                {
                    failures.Add($"{method.Path} as {kind} {role}: {status} ({detail}); the table says {(allowed ? "admitted" : "refused")}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await DatabaseDigestAsync(platform));

        // Every call of every account is in the access log, refused ones too.
        var log = new IdentityService.IdentityServiceClient(platform.Channel);
        foreach (var ((kind, role), _) in fixture.Callers)
        {
            var account = fixture.Accounts[(kind, role)].Id;
            var logged = await Eventually.WaitAsync(
                async () => (await log.ListAccessLogAsync(new ListAccessLogRequest { AccountId = account, Limit = 5000 })).Entries.Select(e => e.Method).ToHashSet(),
                seen => Methods().All(m => seen.Contains(m.Path)));
            Assert.True(Methods().All(m => logged.Contains(m.Path)), $"{account}: not logged: " + string.Join(", ", Methods().Select(m => m.Path).Where(m => !logged.Contains(m))));
        }

        var everything = await log.ListAccessLogAsync(new ListAccessLogRequest { Limit = 5000 });
        Assert.True(everything.Entries.Count(e => e.AccountId.Length == 0 && e.Status == "UNAUTHENTICATED") >= 3 * Methods().Count);
    }

    [Fact]
    public async Task ServerReflectionAnswersOnlyAnAuthenticatedCaller()
    {
        var method = new Method<byte[], byte[]>(MethodType.DuplexStreaming, "grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo", Bytes, Bytes);
        byte[] listServices = [0x3A, 0x01, (byte)'*'];

        using var nobody = new PlatformConnection(fixture.Platform.ApiUrl, new PlatformCredential.Token(""));
        using var anonymous = nobody.AnonymousChannel();
        using (var call = anonymous.CreateCallInvoker().AsyncDuplexStreamingCall(method, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10))))
        {
            try
            {
                await call.RequestStream.WriteAsync(listServices);
                await call.RequestStream.CompleteAsync();
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException)
            {
                // The server may refuse the call before its request is written; the call's status is read below either way.
            }

            var refused = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        }

        using (var call = fixture.Callers[("pasture_operator", "viewer")].Channel.CreateCallInvoker()
                   .AsyncDuplexStreamingCall(method, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10))))
        {
            await call.RequestStream.WriteAsync(listServices);
            await call.RequestStream.CompleteAsync();
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.Contains("hohhot.telemetry.v1.ThroughputService", System.Text.Encoding.UTF8.GetString(call.ResponseStream.Current), StringComparison.Ordinal);
        }
    }

    private sealed record RpcMethod(string Path, MethodDescriptor Descriptor)
    {
        public MethodType Type => Descriptor.IsServerStreaming ? MethodType.ServerStreaming : MethodType.Unary;
    }

    /// <summary>Every method of every service the generated code of protos/ defines (found by reflection, so a new one is in the matrix).</summary>
    private static List<RpcMethod> Methods() =>
        typeof(ThroughputService).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ThroughputService).Namespace && t.Name.EndsWith("Reflection", StringComparison.Ordinal))
            .Select(t => (FileDescriptor)t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!)
            .SelectMany(f => f.Services)
            .SelectMany(s => s.Methods)
            .Select(m => new RpcMethod($"/{m.Service.FullName}/{m.Name}", m))
            .OrderBy(m => m.Path, StringComparer.Ordinal)
            .ToList();

    /// <summary>A real write for the methods that change something (what a refused caller tries); an empty request otherwise.</summary>
    private byte[] WriteAttempt(RpcMethod method)
    {
        var f = fixture.Fleet;
        var json = method.Descriptor.Name switch
        {
            "UpsertRegistry" => $$"""{"pastures":[{"id":"{{f.Prefix}}-P9","countyId":"{{f.CountyA}}","name":"intruder","species":"SPECIES_COW","capacityHead":1}],"devices":[{"id":"{{f.MeterA}}","ownerKind":"OWNER_KIND_PASTURE","ownerId":"{{f.PastureB}}","kind":"milk_meter"}]}""",
            "DeactivateDevice" => $$"""{"deviceId":"{{f.MeterA}}","reason":"matrix"}""",
            "MoveDevice" => $$"""{"deviceId":"{{f.MeterA}}","ownerKind":"OWNER_KIND_PASTURE","ownerId":"{{f.PastureB}}","reason":"matrix"}""",
            "ImportAnimals" => $$"""{"pastureId":"{{f.PastureA}}","importId":"matrix","animals":[{"earTag":"215012199999999","specie":"Cattle","gender":"Female","herdId":"{{f.HerdA1}}"}]}""",
            "RejudgeSamples" => """{"fromDate":"2020-01-01","toDate":"2030-12-31","reason":"matrix"}""",
            "CreateOrganisation" => $$"""{"id":"{{f.Prefix}}-intruder","kind":"ORGANISATION_KIND_PLATFORM_OPERATOR","name":"intruder"}""",
            "AssignHoldings" => $$"""{"organisationId":"{{fixture.Organisations["pasture_operator"]}}","pastureIds":["{{f.PastureB}}"]}""",
            "CreateAccount" => $$"""{"organisationId":"platform","id":"{{f.Prefix}}-intruder","kind":"ACCOUNT_KIND_USER","role":"ACCOUNT_ROLE_ADMIN"}""",
            "UpdateAccount" => """{"id":"operator","role":"ACCOUNT_ROLE_VIEWER","disabled":true}""",
            "CreateReportSchedule" => """{"kind":"audit","cadence":"REPORT_CADENCE_DAILY","localHour":6}""",
            _ => "{}",
        };
        return JsonParser.Default.Parse(json, method.Descriptor.InputType).ToByteArray();
    }

    /// <summary>One call with raw bytes; a server stream that is still open after two seconds was admitted.</summary>
    private static async Task<(StatusCode Status, string Detail, bool ByPolicy)> CallAsync(Grpc.Net.Client.GrpcChannel channel, RpcMethod rpc, byte[] request)
    {
        var method = new Method<byte[], byte[]>(rpc.Type, rpc.Descriptor.Service.FullName, rpc.Descriptor.Name, Bytes, Bytes);
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(rpc.Type == MethodType.ServerStreaming ? 2 : 30));
        try
        {
            if (rpc.Type == MethodType.ServerStreaming)
            {
                using var stream = channel.CreateCallInvoker().AsyncServerStreamingCall(method, null, options, request);
                while (await stream.ResponseStream.MoveNext())
                {
                }
            }
            else
            {
                await channel.CreateCallInvoker().AsyncUnaryCall(method, null, options, request);
            }

            return (StatusCode.OK, "", false);
        }
        catch (RpcException exception)
        {
            return (exception.StatusCode, exception.Status.Detail, exception.Trailers.GetValue("hohhot-refused-by") == "access-policy");
        }
    }

    /// <summary>A digest of every table a write could change (the access log aside, which every call adds to).</summary>
    private static async Task<string> DatabaseDigestAsync(PlatformProcess platform)
    {
        string[] tables = ["county", "pasture", "herd", "plant", "device", "organisation", "organisation_pasture", "organisation_plant",
            "organisation_county", "account", "trace_lot", "trace_edge", "epcis_event", "quality_result", "report_schedule", "report_run"];
        await using var connection = new NpgsqlConnection(platform.PostgresConnection);
        await connection.OpenAsync();
        var digest = new System.Text.StringBuilder();
        foreach (var table in tables)
        {
            await using var command = new NpgsqlCommand($"select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t", connection);
            digest.Append(table).Append('=').Append(await command.ExecuteScalarAsync()).Append(' ');
        }

        return digest.ToString();
    }
}

/// <summary>docs/access.md's table: per method, the lowest role each organisation kind needs, or none.</summary>
public sealed partial class AccessTable
{
    public sealed record Row(IReadOnlyDictionary<string, string?> MinimumRole)
    {
        public bool Allows(string kind, string role) =>
            MinimumRole[kind] is { } minimum && Array.IndexOf(IdentityPlatform.Roles, role) >= Array.IndexOf(IdentityPlatform.Roles, minimum);
    }

    public static Dictionary<string, Row> Load()
    {
        var rows = new Dictionary<string, Row>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(Path.Combine(TestServers.RepoRoot, "docs", "access.md")))
        {
            var match = RowPattern().Match(line);
            if (!match.Success)
            {
                continue;
            }

            var cells = line.Split('|').Select(c => c.Trim()).ToArray();
            var minimum = new Dictionary<string, string?>(StringComparer.Ordinal);
            for (var i = 0; i < IdentityPlatform.Kinds.Length; i++)
            {
                var cell = cells[2 + i];
                Assert.True(cell == "-" || IdentityPlatform.Roles.Contains(cell), $"docs/access.md: '{cell}' is not a role or '-' ({line})");
                minimum[IdentityPlatform.Kinds[i]] = cell == "-" ? null : cell;
            }

            Assert.True(rows.TryAdd(match.Groups[1].Value, new Row(minimum)), "docs/access.md names a method twice: " + match.Groups[1].Value);
        }

        return rows;
    }

    [GeneratedRegex(@"^\| `(/[A-Za-z0-9_.]+/[A-Za-z0-9_]+)` \|")]
    private static partial Regex RowPattern();
}

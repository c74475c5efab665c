using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.FirmwareSim.Verification;

namespace HohhotCluster.FirmwareSim.Tests.Publishing;

/// <summary>
/// The gateways' MQTT connections against an in-process endpoint answering as the platform's does (every PUBACK code,
/// TLS with a private CA): the ledger ends holding exactly what the endpoint counted, quarantined or refused.
/// </summary>
public sealed class EndpointPublishingTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("hohhot-sim-endpoint-");

    public void Dispose() => _work.Delete(recursive: true);

    private static string PasswordOf(string owner) => GatewayCredentials.Password(PublishingSamples.Seed, owner);

    private async Task<(bool Drained, LedgerSummary Ledger, RunStats Stats, string Unreachable)> PublishAsync(
        MqttEndpoint endpoint, IEnumerable<OutboundMessage> messages, int batchReadings, TimeSpan drainTimeout)
    {
        var ledgerPath = Path.Combine(_work.FullName, Guid.NewGuid().ToString("N") + ".jsonl");
        var stats = new RunStats();
        bool drained;
        string unreachable;
        using (var ledger = new PublishLedger(ledgerPath))
        {
            var options = new GatewayPublisherOptions { SpoolDirectory = Path.Combine(_work.FullName, Guid.NewGuid().ToString("N")), MaxInflight = 8, BatchReadings = batchReadings };
            var publisher = new FleetPublisher(endpoint, options, PasswordOf, ledger, stats);
            await using (publisher)
            {
                foreach (var message in messages)
                {
                    await publisher.SendAsync(message, CancellationToken.None);
                }
                drained = await publisher.CompleteAsync(drainTimeout);
                unreachable = publisher.DescribeUnreachable();
            }
        }
        return (drained, LedgerSummary.Read(ledgerPath), stats, unreachable);
    }

    [Fact]
    public async Task Every_PUBACK_code_settles_its_readings_and_the_ledger_counts_exactly_what_the_endpoint_counted()
    {
        var day = PublishingSamples.Day;
        var poisoned = day.Where(m => m.Kind == MessageKind.Milking).Take(200).Where((_, i) => i % 67 == 5)
            .Select(m => new MessageKey(m.DeviceId, m.BootEpoch, m.Seq)).ToHashSet();
        Assert.Equal(3, poisoned.Count);
        var reading = day[0];
        var foreignTopic = reading.Topic.Replace(reading.OwnerId, day.First(m => m.OwnerId != reading.OwnerId).OwnerId, StringComparison.Ordinal);
        var foreign = PublishingSamples.Copy(reading, topic: foreignTopic, fault: FaultTag.ForeignTopic);
        var malformed = PublishingSamples.Copy(reading, fault: FaultTag.Malformed, payload: reading.Payload[..^6]);

        // As the platform answers: another owner's topic 0x87; what does not read, or carries a poisoned reading, 0x99;
        // the first publishes 0x97 (a device too fast), the next two a DISCONNECT 0x96 (the gateway too fast); the rest success.
        int Answer(FakePlatformEndpoint.Publish publish) =>
            !publish.Topic.StartsWith("hohhot/v1/", StringComparison.Ordinal) || publish.Topic.Split('/')[3] != publish.UserName ? PubackCodes.NotAuthorized
            : publish.Keys.Count == 0 || publish.Keys.Any(poisoned.Contains) ? PubackCodes.PayloadFormatInvalid
            : publish.Number <= 4 ? PubackCodes.QuotaExceeded
            : publish.Number <= 6 ? FakePlatformEndpoint.DisconnectForRate
            : 0x00;

        await using var platform = await FakePlatformEndpoint.StartAsync(Answer, PasswordOf);
        var (drained, ledger, stats, unreachable) = await PublishAsync(new MqttEndpoint("127.0.0.1", platform.Port),
            day.Append(foreign).Append(malformed), batchReadings: 50, TimeSpan.FromSeconds(60));

        Assert.True(drained, unreachable);
        Assert.Equal(day.Select(m => new MessageKey(m.DeviceId, m.BootEpoch, m.Seq)).ToHashSet(), ledger.Keys.Keys.ToHashSet());
        var counted = ledger.Keys.Values.Where(k => k.Fate == KeyFate.Counted).Select(k => k.Key).ToHashSet();
        Assert.Equal(platform.Counted.Keys.ToHashSet(), counted);
        Assert.Equal(day.Count - poisoned.Count, counted.Count);
        Assert.All(poisoned, key => Assert.Equal(KeyFate.Quarantined, ledger.Keys[key].Fate));
        Assert.Contains(ledger.Keys.Values, k => k.RateLimitedPubacks > 0);
        Assert.Equal((1L, 1L), (ledger.FaultCopies.Quarantined, ledger.FaultCopies.Refused));

        Assert.True(stats.Batches > 0, "a backlog of a day's readings should go in batches");
        Assert.Contains(platform.Received, p => p.Topic.EndsWith("/batch", StringComparison.Ordinal) && p.Keys.Count > 1);
        Assert.All(platform.Received, p => Assert.InRange(p.Keys.Count, 0, 50));
        Assert.Equal((day.Count - poisoned.Count, poisoned.Count + 1L, 1L, 0L, 0L), (stats.Acked, stats.Quarantined, stats.Refused, stats.Pending, stats.Inflight));
        Assert.True(stats.RateLimited > 0);
        Assert.True(stats.RateDisconnects > 0, "the endpoint's DISCONNECT 0x96 should have been seen");
        Assert.True(stats.TransportFailures > 0, "what was in flight at the DISCONNECT gets no PUBACK and is resent");
    }

    [Fact]
    public async Task Over_TLS_the_gateways_trust_the_given_CA_and_no_other()
    {
        var (ca, serverCertificate) = FakePlatformEndpoint.CreateCertificates("Test platform CA");
        var (otherCa, otherServer) = FakePlatformEndpoint.CreateCertificates("Some other CA");
        using (ca)
        using (serverCertificate)
        using (otherCa)
        using (otherServer)
        {
            var caFile = Path.Combine(_work.FullName, "ca.pem");
            await File.WriteAllTextAsync(caFile, ca.ExportCertificatePem());
            var otherCaFile = Path.Combine(_work.FullName, "other-ca.pem");
            await File.WriteAllTextAsync(otherCaFile, otherCa.ExportCertificatePem());
            await using var platform = await FakePlatformEndpoint.StartAsync(_ => 0x00, PasswordOf, serverCertificate);
            var messages = PublishingSamples.OfOneGateway(60);

            var trusted = MqttEndpoint.Parse($"mqtts://127.0.0.1:{platform.Port}", useTls: false, caFile);
            var (drained, ledger, _, unreachable) = await PublishAsync(trusted, messages, batchReadings: 200, TimeSpan.FromSeconds(30));
            Assert.True(drained, unreachable);
            Assert.All(ledger.Keys.Values, k => Assert.Equal(KeyFate.Counted, k.Fate));
            Assert.Equal(messages.Count, platform.Counted.Count);

            var received = platform.Received.Count;
            var untrusted = MqttEndpoint.Parse($"127.0.0.1:{platform.Port}", useTls: false, otherCaFile);
            Assert.True(untrusted.UseTls);
            (drained, ledger, _, unreachable) = await PublishAsync(untrusted, messages, batchReadings: 200, TimeSpan.FromSeconds(3));
            Assert.False(drained, "a server whose chain ends at another CA must not be trusted");
            Assert.NotEmpty(unreachable);
            Assert.Equal(received, platform.Received.Count);
            Assert.All(ledger.Keys.Values, k => Assert.NotEqual(KeyFate.Counted, k.Fate));
            trusted.TrustedCa?.Dispose();
            untrusted.TrustedCa?.Dispose();
        }
    }
}

using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.FirmwareSim.Tests.Publishing;
using HohhotCluster.FirmwareSim.Verification;

namespace HohhotCluster.FirmwareSim.Tests.Verification;

/// <summary>What the ledger's PUBACK codes make of each key, and how <c>verify</c> reports them.</summary>
public sealed class LedgerCodeTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("hohhot-sim-ledger-");

    public void Dispose() => _work.Delete(recursive: true);

    /// <summary>One key per case: its ledger lines as (reason code, readings in the batch that carried it).</summary>
    private static readonly (string Case, (int Code, int Batch)[] Lines, KeyFate Fate)[] s_cases =
    [
        ("success", [(0x00, 1)], KeyFate.Counted),
        ("site broker, no subscribers", [(0x10, 1)], KeyFate.Counted),
        ("quarantined alone", [(0x99, 1)], KeyFate.Quarantined),
        ("batch 0x99, then its half counted", [(0x99, 8), (0x00, 4)], KeyFate.Counted),
        ("batch 0x99, then 0x99 alone", [(0x99, 8), (0x99, 2), (0x99, 1)], KeyFate.Quarantined),
        ("not authorised", [(0x87, 1)], KeyFate.Refused),
        ("rate-limited, then counted", [(0x96, 20), (0x96, 20), (0x00, 20)], KeyFate.Counted),
        ("rate-limited only", [(0x96, 1)], KeyFate.NeverAcknowledged),
        ("connection lost, then counted", [(PublishLedger.TransportFailure, 5), (0x00, 5)], KeyFate.Counted),
        ("spool full", [(PublishLedger.SpoolFull, 1)], KeyFate.Dropped),
        ("batch 0x99, run ended", [(0x99, 8)], KeyFate.QuarantineUnresolved),
        ("other refusal", [(0x80, 1)], KeyFate.Refused),
        ("device beyond its rate, then counted", [(0x97, 3), (0x00, 3)], KeyFate.Counted),
    ];

    private string WriteLedger(bool withUnresolved)
    {
        var path = Path.Combine(_work.FullName, withUnresolved ? "with-unresolved.jsonl" : "settled.jsonl");
        var messages = PublishingSamples.OfOneGateway(s_cases.Length);
        using var ledger = new PublishLedger(path);
        for (var i = 0; i < s_cases.Length; i++)
        {
            if (!withUnresolved && s_cases[i].Fate == KeyFate.QuarantineUnresolved)
            {
                continue;
            }
            foreach (var (code, batch) in s_cases[i].Lines)
            {
                ledger.Record(messages[i], code, batch);
            }
        }
        var reading = messages[0];
        ledger.Record(PublishingSamples.Copy(reading, fault: FaultTag.Malformed, payload: reading.Payload[..^4]), PubackCodes.PayloadFormatInvalid);
        ledger.Record(PublishingSamples.Copy(reading, fault: FaultTag.ForeignTopic), PubackCodes.MessageRateTooHigh);
        ledger.Record(PublishingSamples.Copy(reading, fault: FaultTag.ForeignTopic), PubackCodes.NotAuthorized);
        ledger.Record(PublishingSamples.Copy(reading, fault: FaultTag.Oversized), PublishLedger.TransportFailure);
        return path;
    }

    [Fact]
    public void Each_code_settles_a_key_as_counted_quarantined_refused_dropped_or_waiting()
    {
        var summary = LedgerSummary.Read(WriteLedger(withUnresolved: true));
        var messages = PublishingSamples.OfOneGateway(s_cases.Length);
        for (var i = 0; i < s_cases.Length; i++)
        {
            var entry = summary.Keys[new MessageKey(messages[i].DeviceId, messages[i].BootEpoch, messages[i].Seq)];
            Assert.True(s_cases[i].Fate == entry.Fate, $"{s_cases[i].Case}: {entry.Fate}, expected {s_cases[i].Fate}");
        }
        var rateLimited = summary.Keys[new MessageKey(messages[6].DeviceId, messages[6].BootEpoch, messages[6].Seq)];
        Assert.Equal((2, 1, 3), (rateLimited.RateLimitedPubacks, rateLimited.SuccessfulPubacks, rateLimited.Attempts));
        Assert.Equal(1, summary.Keys[new MessageKey(messages[5].DeviceId, messages[5].BootEpoch, messages[5].Seq)].NotAuthorisedPubacks);
        Assert.Equal(0, summary.Keys[new MessageKey(messages[11].DeviceId, messages[11].BootEpoch, messages[11].Seq)].NotAuthorisedPubacks);

        // The rate-limited attempt of the foreign-topic copy is no copy of its own: its resend is.
        Assert.Equal((3L, 0L, 1L, 1L, 1L), (summary.FaultCopies.Copies, summary.FaultCopies.Acknowledged, summary.FaultCopies.Quarantined,
            summary.FaultCopies.Refused, summary.FaultCopies.Unanswered));
    }

    [Fact]
    public async Task Verify_reports_quarantined_refused_and_rate_limited_keys_on_lines_of_their_own()
    {
        var output = new StringWriter();
        var code = await new LedgerVerifier(new VerifyOptions { LedgerPath = WriteLedger(withUnresolved: false) }, output).RunAsync(CancellationToken.None);
        var text = output.ToString();

        Assert.True(code == 0, text);
        Assert.Contains("12 keys, 6 acknowledged and counted (0 acknowledged more than once), 2 quarantined, 2 refused, 1 never acknowledged, 1 dropped (spool full)", text, StringComparison.Ordinal);
        Assert.Contains("quarantine: 2 keys the platform holds in quarantine (PUBACK 0x99), counted nowhere and not lost", text, StringComparison.Ordinal);
        Assert.Contains("refused: 2 keys stored nowhere (1 not authorised, PUBACK 0x87", text, StringComparison.Ordinal);
        Assert.Contains("rate limited: 4 attempts of 3 keys answered 0x97 or 0x96", text, StringComparison.Ordinal);
        Assert.Contains("3 fault copies (0 acknowledged as counted, 1 quarantined, 1 refused, 1 unanswered", text, StringComparison.Ordinal);
        Assert.DoesNotContain("unresolved", text, StringComparison.Ordinal);
        Assert.Contains("verify: no difference", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_left_with_only_its_batchs_0x99_is_a_difference_verify_cannot_settle()
    {
        var output = new StringWriter();
        var code = await new LedgerVerifier(new VerifyOptions { LedgerPath = WriteLedger(withUnresolved: true) }, output).RunAsync(CancellationToken.None);
        var text = output.ToString();

        Assert.Equal(1, code);
        Assert.Contains("unresolved: 1 keys only in batches answered 0x99", text, StringComparison.Ordinal);
        Assert.Contains("verify: 1 difference(s)", text, StringComparison.Ordinal);
    }
}

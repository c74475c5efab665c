namespace HohhotCluster.FirmwareSim.Publishing;

internal enum MessageKind : byte
{
    Milking,
    BulkTank,
    PlantIntake,
    TankerPickup,
    SiloTransfer,
    Production,
    Quality,
    Manure,
    Health,
    Tmr,
    FeedStock,
    TankerLog,
    AnimalEvent,
}

/// <summary>
/// Why a message differs from plain telemetry. Copies made by a fault (malformed, oversized,
/// foreign topic) carry the key of the message they copy and must never be counted by the
/// platform; duplicates must be counted once; the other tags are ordinary readings.
/// </summary>
internal enum FaultTag : byte
{
    None,
    Duplicate,
    Reordered,
    Late,
    Malformed,
    Oversized,
    ForeignTopic,
    Flood,
}

internal static class MessageKinds
{
    /// <summary>Every kind, in contract order: the default of <c>--kinds</c>.</summary>
    public static IReadOnlyList<MessageKind> All { get; } = Enum.GetValues<MessageKind>();

    /// <summary>
    /// The topic's kind name. The one list of the simulator's kind names: the switch names every member (no default
    /// arm), so a kind added to <see cref="MessageKind"/> and left out here is CS8509, a build error; a value outside
    /// the enum throws. PlatformAgreementTests checks the list equals the platform's registry of kinds.
    /// </summary>
#pragma warning disable CS8524 // An unnamed enum value throws SwitchExpressionException; every named one is listed.
    public static string Name(MessageKind kind) => kind switch
    {
        MessageKind.Milking => "milking",
        MessageKind.BulkTank => "bulk_tank",
        MessageKind.PlantIntake => "plant_intake",
        MessageKind.TankerPickup => "tanker_pickup",
        MessageKind.SiloTransfer => "silo_transfer",
        MessageKind.Production => "production",
        MessageKind.Quality => "quality",
        MessageKind.Manure => "manure",
        MessageKind.Health => "health",
        MessageKind.Tmr => "tmr",
        MessageKind.FeedStock => "feed_stock",
        MessageKind.TankerLog => "tanker_log",
        MessageKind.AnimalEvent => "animal_event",
    };
#pragma warning restore CS8524

    public static bool TryParse(string name, out MessageKind kind)
    {
        foreach (var candidate in All)
        {
            if (Name(candidate) == name)
            {
                kind = candidate;
                return true;
            }
        }
        kind = default;
        return false;
    }

    /// <summary>True when the platform should apply the message (once per key).</summary>
    public static bool ExpectedByPlatform(FaultTag fault) =>
        fault is not (FaultTag.Malformed or FaultTag.Oversized or FaultTag.ForeignTopic);
}

/// <summary>A publish, exactly as it goes on the wire, with the key and the numbers the ledger needs.</summary>
internal sealed class OutboundMessage
{
    public required string GatewayOwnerId { get; init; }
    public required string Topic { get; init; }
    public required byte[] Payload { get; init; }
    public required string DeviceId { get; init; }
    public required string OwnerId { get; init; }
    public required MessageKind Kind { get; init; }
    public required long BootEpoch { get; init; }
    public required long Seq { get; init; }
    /// <summary>The payload's eventTime (device clock, drift included), Unix ms.</summary>
    public required long EventUnixMs { get; init; }
    /// <summary>kg the message carries toward the platform's totals (milking kg, collectedKg, netKg); 0 for level samples.</summary>
    public required double Kg { get; init; }
    /// <summary>True for a bulk_tank collection (produced_t) as opposed to a level sample.</summary>
    public required bool IsCollection { get; init; }
    public FaultTag Fault { get; init; }
    /// <summary>The time of the message's InfluxDB point when it is not the event time (a quality point is dated by sampledAt).</summary>
    public long? PointUnixMs { get; init; }
    /// <summary>Chain kinds: the lot the message writes (tanker load, silo batch, product lot; quality: the sampled lot).</summary>
    public string? Lot { get; init; }
    /// <summary>Chain kinds: the lot its milk came from (bulk-tank lot, receipt's tanker load, silo batch).</summary>
    public string? Source { get; init; }
    /// <summary>Quality: the simulator's own verdict, pass or fail.</summary>
    public string? Verdict { get; init; }
    /// <summary>
    /// What the ledger knows beyond the key: an animal event's type, tag, stock after it and breeding details; a milking's
    /// withdrawal or colostrum remark; a collection's flagged milkings. Null for everything else.
    /// </summary>
    public AnimalFacts? Animal { get; init; }

    public void WriteTo(BinaryWriter writer)
    {
        writer.Write(GatewayOwnerId);
        writer.Write(Topic);
        writer.Write(DeviceId);
        writer.Write(OwnerId);
        writer.Write((byte)Kind);
        writer.Write(BootEpoch);
        writer.Write(Seq);
        writer.Write(EventUnixMs);
        writer.Write(Kg);
        writer.Write(IsCollection);
        writer.Write((byte)Fault);
        writer.Write(PointUnixMs ?? long.MinValue);
        writer.Write(Lot ?? "");
        writer.Write(Source ?? "");
        writer.Write(Verdict ?? "");
        AnimalFacts.Write(writer, Animal);
        writer.Write(Payload.Length);
        writer.Write(Payload);
    }

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;

    public static OutboundMessage ReadFrom(BinaryReader reader)
    {
        var gateway = reader.ReadString();
        var topic = reader.ReadString();
        var device = reader.ReadString();
        var owner = reader.ReadString();
        var kind = (MessageKind)reader.ReadByte();
        var epoch = reader.ReadInt64();
        var seq = reader.ReadInt64();
        var eventMs = reader.ReadInt64();
        var kg = reader.ReadDouble();
        var isCollection = reader.ReadBoolean();
        var fault = (FaultTag)reader.ReadByte();
        var pointMs = reader.ReadInt64();
        var lot = reader.ReadString();
        var source = reader.ReadString();
        var verdict = reader.ReadString();
        var animal = AnimalFacts.Read(reader);
        var length = reader.ReadInt32();
        if (length is < 0 or > 16 * 1024 * 1024)
        {
            throw new InvalidDataException($"corrupt record: payload length {length}");
        }
        return new OutboundMessage
        {
            GatewayOwnerId = gateway, Topic = topic, DeviceId = device, OwnerId = owner, Kind = kind, BootEpoch = epoch, Seq = seq,
            EventUnixMs = eventMs, Kg = kg, IsCollection = isCollection, Fault = fault, Payload = reader.ReadBytes(length),
            PointUnixMs = pointMs == long.MinValue ? null : pointMs, Lot = NullIfEmpty(lot), Source = NullIfEmpty(source), Verdict = NullIfEmpty(verdict),
            Animal = animal,
        };
    }
}

/// <summary>The ledger's animal members of one message (see <see cref="OutboundMessage.Animal"/>).</summary>
internal sealed record AnimalFacts
{
    /// <summary>Animal event type name (birth, calving, insemination, ...); null for milkings and collections.</summary>
    public string? Event { get; init; }
    public string? EarTag { get; init; }
    /// <summary>Animals alive on the pasture after the event; -1 when not an animal event.</summary>
    public int StockAfter { get; init; } = -1;
    /// <summary>Insemination: sexed semen.</summary>
    public bool Sexed { get; init; }
    /// <summary>Embryo transfer: imported or domestic.</summary>
    public string? EmbryoOrigin { get; init; }
    /// <summary>Pregnancy check result.</summary>
    public string? Result { get; init; }
    /// <summary>Milking: withdrawal_separate, withdrawal_tank, colostrum_separate, colostrum_tank.</summary>
    public string? Remark { get; init; }
    /// <summary>Collection: milkings in the lot of animals in withdrawal, and of colostrum.</summary>
    public int WithdrawalMilkings { get; init; }
    public int ColostrumMilkings { get; init; }
    /// <summary>The pasture's species for stock counts: cow or goat.</summary>
    public string? Species { get; init; }
    public bool InHohhot { get; init; }

    public static void Write(BinaryWriter writer, AnimalFacts? facts)
    {
        writer.Write(facts is not null);
        if (facts is null)
        {
            return;
        }
        writer.Write(facts.Event ?? "");
        writer.Write(facts.EarTag ?? "");
        writer.Write(facts.StockAfter);
        writer.Write(facts.Sexed);
        writer.Write(facts.EmbryoOrigin ?? "");
        writer.Write(facts.Result ?? "");
        writer.Write(facts.Remark ?? "");
        writer.Write(facts.WithdrawalMilkings);
        writer.Write(facts.ColostrumMilkings);
        writer.Write(facts.Species ?? "");
        writer.Write(facts.InHohhot);
    }

    public static AnimalFacts? Read(BinaryReader reader)
    {
        if (!reader.ReadBoolean())
        {
            return null;
        }
        static string? Text(BinaryReader r) => r.ReadString() is { Length: > 0 } text ? text : null;
        return new AnimalFacts
        {
            Event = Text(reader), EarTag = Text(reader), StockAfter = reader.ReadInt32(), Sexed = reader.ReadBoolean(), EmbryoOrigin = Text(reader),
            Result = Text(reader), Remark = Text(reader), WithdrawalMilkings = reader.ReadInt32(), ColostrumMilkings = reader.ReadInt32(),
            Species = Text(reader), InHohhot = reader.ReadBoolean(),
        };
    }
}

/// <summary>Where generated messages go: the MQTT fleet, a record file, a test's list.</summary>
internal interface IMessageSink
{
    ValueTask SendAsync(OutboundMessage message, CancellationToken cancellationToken);
}

internal sealed class ListMessageSink : IMessageSink
{
    public List<OutboundMessage> Messages { get; } = [];

    public ValueTask SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        Messages.Add(message);
        return ValueTask.CompletedTask;
    }
}

internal sealed class TeeMessageSink(IMessageSink first, IMessageSink second) : IMessageSink
{
    public async ValueTask SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        await first.SendAsync(message, cancellationToken).ConfigureAwait(false);
        await second.SendAsync(message, cancellationToken).ConfigureAwait(false);
    }
}

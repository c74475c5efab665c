using System.Buffers;
using System.Buffers.Text;
using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HohhotCluster.Telemetry.Contracts;

/// <summary>A run of consecutive sequence numbers, both ends included.</summary>
public readonly record struct SequenceRange(long First, long Last);

/// <summary>
/// A set of one device boot's sequence numbers as sorted, disjoint, non-adjacent ranges: an in-order stream is one
/// range, and every hole is a number not (yet) in the set. Beyond the capacity a caller gives, the oldest hole is
/// closed (the two lowest ranges merge), so the set only ever grows towards the past. In JSON it is one compact
/// string (see <see cref="SequenceRangeSetJsonConverter"/>), since a herd sees a milk meter's sequence interleaved
/// with the pasture's other herds and so holds thousands of short ranges.
/// </summary>
[JsonConverter(typeof(SequenceRangeSetJsonConverter))]
public sealed class SequenceRangeSet : IReadOnlyList<SequenceRange>
{
    private readonly List<SequenceRange> _ranges;

    public SequenceRangeSet()
    {
        _ranges = [];
    }

    internal SequenceRangeSet(List<SequenceRange> ranges)
    {
        _ranges = ranges;
    }

    public int Count => _ranges.Count;

    public SequenceRange this[int index] => _ranges[index];

    public bool Contains(long sequence)
    {
        var index = FirstEndingAtOrAfter(sequence);
        return index < _ranges.Count && _ranges[index].First <= sequence;
    }

    /// <summary>Adds the number; true when the oldest hole had to be closed to stay within <paramref name="maxRanges"/>.</summary>
    public bool Add(long sequence, int maxRanges) => Add(sequence, maxRanges, out _);

    /// <summary>
    /// Adds the number; true when the oldest hole had to be closed to stay within <paramref name="maxRanges"/>, and
    /// then <paramref name="closedHole"/> holds the numbers that hole was missing (the set now claims them).
    /// </summary>
    public bool Add(long sequence, int maxRanges, out SequenceRange closedHole)
    {
        closedHole = default;
        var count = _ranges.Count;
        if (count > 0 && _ranges[count - 1].Last == sequence - 1)
        {
            // The usual case: the next number of an in-order stream.
            _ranges[count - 1] = _ranges[count - 1] with { Last = sequence };
            return false;
        }

        var index = FirstEndingAtOrAfter(sequence - 1);
        if (index < count && _ranges[index].First <= sequence + 1)
        {
            // Touches or overlaps range[index]: extend it, then merge with the next one if they now meet.
            var range = _ranges[index];
            range = new SequenceRange(Math.Min(range.First, sequence), Math.Max(range.Last, sequence));
            if (index + 1 < count && _ranges[index + 1].First <= range.Last + 1)
            {
                range = range with { Last = _ranges[index + 1].Last };
                _ranges.RemoveAt(index + 1);
            }

            _ranges[index] = range;
            return false;
        }

        _ranges.Insert(index, new SequenceRange(sequence, sequence));
        return CloseOldestHoleBeyond(maxRanges, out closedHole);
    }

    /// <summary>
    /// Adds every number of <paramref name="range"/>, merging the ranges it touches; true when the oldest hole had to
    /// be closed to stay within <paramref name="maxRanges"/>, and then <paramref name="closedHole"/> holds its numbers.
    /// </summary>
    public bool Add(SequenceRange range, int maxRanges, out SequenceRange closedHole)
    {
        if (range.Last < range.First)
        {
            throw new ArgumentOutOfRangeException(nameof(range), range, "A range's last number is below its first.");
        }

        closedHole = default;
        var index = FirstEndingAtOrAfter(range.First - 1);
        var end = index;
        var merged = range;
        while (end < _ranges.Count && _ranges[end].First <= merged.Last + 1)
        {
            merged = new SequenceRange(Math.Min(merged.First, _ranges[end].First), Math.Max(merged.Last, _ranges[end].Last));
            end++;
        }

        if (end > index)
        {
            _ranges[index] = merged;
            _ranges.RemoveRange(index + 1, end - index - 1);
            return false;
        }

        _ranges.Insert(index, merged);
        return CloseOldestHoleBeyond(maxRanges, out closedHole);
    }

    public IEnumerator<SequenceRange> GetEnumerator() => _ranges.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private bool CloseOldestHoleBeyond(int maxRanges, out SequenceRange closedHole)
    {
        if (_ranges.Count <= maxRanges)
        {
            closedHole = default;
            return false;
        }

        closedHole = new SequenceRange(_ranges[0].Last + 1, _ranges[1].First - 1);
        _ranges[1] = _ranges[1] with { First = _ranges[0].First };
        _ranges.RemoveAt(0);
        return true;
    }

    private int FirstEndingAtOrAfter(long sequence)
    {
        int low = 0, high = _ranges.Count;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (_ranges[mid].Last < sequence)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }
}

/// <summary>
/// Writes a <see cref="SequenceRangeSet"/> as one string of comma-separated ranges, each the distance from the end
/// of the range before it (the first: its own first number), then <c>:n</c> when it holds n more numbers:
/// <c>{1..7, 10, 14..15}</c> is <c>"1:6,3,4:1"</c>, a few bytes a range where objects took thirty. Reads that form
/// and the earlier array of <c>{"first","last"}</c> objects.
/// </summary>
public sealed class SequenceRangeSetJsonConverter : JsonConverter<SequenceRangeSet>
{
    private const int MaxTokenBytes = 2 * 20 + 2;

    public override SequenceRangeSet Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            var objects = JsonSerializer.Deserialize<List<SequenceRange>>(ref reader, options) ?? [];
            return Validated(objects);
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"A sequence range set is a string or an array, not {reader.TokenType}.");
        }

        var text = reader.GetString()!;
        var ranges = new List<SequenceRange>(Math.Max(1, text.Length / 4));
        long previousLast = 0;
        foreach (var token in text.AsSpan().Split(','))
        {
            var part = text.AsSpan(token);
            if (part.IsEmpty)
            {
                continue;
            }

            var plus = part.IndexOf(':');
            var distance = ParseNumber(plus < 0 ? part : part[..plus]);
            var more = plus < 0 ? 0 : ParseNumber(part[(plus + 1)..]);
            var first = ranges.Count == 0 ? distance : previousLast + distance;
            previousLast = first + more;
            ranges.Add(new SequenceRange(first, previousLast));
        }

        return Validated(ranges);
    }

    public override void Write(Utf8JsonWriter writer, SequenceRangeSet value, JsonSerializerOptions options)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, value.Count) * MaxTokenBytes);
        try
        {
            var written = 0;
            long previousLast = 0;
            for (var i = 0; i < value.Count; i++)
            {
                var range = value[i];
                if (i > 0)
                {
                    buffer[written++] = (byte)',';
                }

                written += Format(i == 0 ? range.First : range.First - previousLast, buffer.AsSpan(written));
                if (range.Last > range.First)
                {
                    buffer[written++] = (byte)':';
                    written += Format(range.Last - range.First, buffer.AsSpan(written));
                }

                previousLast = range.Last;
            }

            writer.WriteStringValue(buffer.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int Format(long number, Span<byte> destination) =>
        Utf8Formatter.TryFormat(number, destination, out var written) ? written : throw new InvalidOperationException("range token buffer too small");

    private static long ParseNumber(ReadOnlySpan<char> text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new JsonException($"'{text}' is not a number in a sequence range set.");

    private static SequenceRangeSet Validated(List<SequenceRange> ranges)
    {
        for (var i = 0; i < ranges.Count; i++)
        {
            if (ranges[i].Last < ranges[i].First || (i > 0 && ranges[i].First <= ranges[i - 1].Last + 1))
            {
                throw new JsonException("Sequence ranges must be sorted, disjoint and not adjacent.");
            }
        }

        return new SequenceRangeSet(ranges);
    }
}

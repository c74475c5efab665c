namespace HohhotCluster.FirmwareSim.Fleet;

/// <summary>
/// SplitMix64 stream keyed by (seed, stream ids). Every animal, day and device draws from its own
/// stream, so a value never depends on how many other values were drawn before it: the same seed
/// gives the same fleet and the same messages whatever the iteration order.
/// </summary>
internal struct DeterministicRandom
{
    private ulong _state;

    public DeterministicRandom(long seed, long a = 0, long b = 0, long c = 0)
    {
        _state = Mix((ulong)seed ^ 0x9E3779B97F4A7C15UL);
        _state = Mix(_state ^ (ulong)a);
        _state = Mix(_state ^ ((ulong)b * 0xBF58476D1CE4E5B9UL));
        _state = Mix(_state ^ ((ulong)c * 0x94D049BB133111EBUL));
    }

    public static long StableHash(string text)
    {
        // FNV-1a: string.GetHashCode is randomised per process and would break determinism.
        ulong hash = 14695981039346656037UL;
        foreach (var ch in text)
        {
            hash ^= ch;
            hash *= 1099511628211UL;
        }
        return (long)hash;
    }

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double min, double max) => min + ((max - min) * NextDouble());

    public int NextInt(int minInclusive, int maxExclusive) =>
        minInclusive + (int)(NextUInt64() % (ulong)(maxExclusive - minInclusive));

    public bool Chance(double probability) => NextDouble() < probability;

    public double Normal(double mean, double standardDeviation)
    {
        // Box-Muller; 1 - u keeps the logarithm finite.
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return mean + (standardDeviation * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    public double LogNormal(double median, double sigma) => median * Math.Exp(Normal(0, sigma));

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

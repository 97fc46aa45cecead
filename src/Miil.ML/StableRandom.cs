namespace Miil.ML;

/// <summary>
/// Random generators seeded by a tuple of numbers, the same in every process and on every machine.
/// <c>HashCode.Combine</c> would not do: .NET randomises it per process, so data "seeded" with it
/// differs from one run to the next. Public for the packages that extend Miil.ML (augmentation draws).
/// </summary>
internal static class StableRandom
{
    /// <summary>A generator for (<paramref name="a"/>, <paramref name="b"/>, <paramref name="c"/>) through SplitMix64.</summary>
    public static Random Create(long a, long b, long c)
    {
        ulong x = Mix((ulong)a ^ Mix((ulong)b + 0x9E3779B97F4A7C15UL * (ulong)(c + 1)));
        return new Random((int)(x ^ (x >> 32)));
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

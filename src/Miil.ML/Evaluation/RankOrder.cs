namespace Miil.ML.Evaluation;

/// <summary>
/// Ranks samples by descending score, ties by lower index first (a stable sort): the reference's
/// ranking with its tie order made deterministic. A least-significant-digit radix sort of the score
/// bits carrying each sample's label: three passes of at most 11 bits, linear in the number of
/// samples, so that evaluating 100,000 samples x 80 classes costs milliseconds rather than a
/// comparison sort per class.
/// </summary>
internal static class RankOrder
{
    private const int DigitBits = 11;
    private const int Buckets = 1 << DigitBits;

    /// <summary>
    /// Sorts <paramref name="keys"/> (from <see cref="DescendingKey"/>, in sample order) ascending,
    /// moving <paramref name="payload"/> along; equal keys keep their order. The scratch spans are
    /// at least as long as the input.
    /// </summary>
    public static void Sort(Span<uint> keys, Span<byte> payload, Span<uint> keyScratch, Span<byte> payloadScratch)
    {
        int n = keys.Length;
        if (n < 2)
        {
            return;
        }
        Span<int> counts = stackalloc int[Buckets];
        for (int shift = 0; shift < 32; shift += DigitBits)
        {
            counts.Clear();
            for (int i = 0; i < n; i++)
            {
                counts[(int)(keys[i] >> shift) & (Buckets - 1)]++;
            }
            if (counts[(int)(keys[0] >> shift) & (Buckets - 1)] == n)
            {
                continue;  // every key has this digit: the pass would not move anything
            }
            int sum = 0;
            for (int d = 0; d < Buckets; d++)
            {
                int c = counts[d];
                counts[d] = sum;
                sum += c;
            }
            for (int i = 0; i < n; i++)
            {
                int at = counts[(int)(keys[i] >> shift) & (Buckets - 1)]++;
                keyScratch[at] = keys[i];
                payloadScratch[at] = payload[i];
            }
            keyScratch[..n].CopyTo(keys);
            payloadScratch[..n].CopyTo(payload);
        }
    }

    /// <summary>The score a <see cref="DescendingKey"/> came from (+0 for either zero).</summary>
    public static float ScoreOf(uint key)
    {
        uint ascending = ~key;
        uint bits = (ascending & 0x8000_0000u) != 0 ? ascending & 0x7fff_ffffu : ~ascending;
        return BitConverter.UInt32BitsToSingle(bits);
    }

    /// <summary>An unsigned key whose ascending order is the scores' descending order; -0 and +0 tie, as numpy compares them.</summary>
    public static uint DescendingKey(float score)
    {
        uint bits = score == 0f ? 0u : BitConverter.SingleToUInt32Bits(score);
        uint ascending = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ~ascending;
    }
}

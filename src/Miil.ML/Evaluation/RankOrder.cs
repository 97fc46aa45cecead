namespace Miil.ML.Evaluation;

/// <summary>
/// Sample indices by descending score, ties by lower index first (a stable sort): the reference's
/// ranking with its tie order made deterministic. A least-significant-digit radix sort on the float
/// bits: four passes of 8 bits, linear in the number of samples, so that evaluating 100,000 samples
/// x 80 classes costs milliseconds rather than a comparison sort per class.
/// </summary>
internal static class RankOrder
{
    /// <summary>Writes into <paramref name="order"/> the indices of <paramref name="scores"/> by descending score; scratch is a buffer of the same length.</summary>
    public static void Descending(ReadOnlySpan<float> scores, Span<int> order, Span<uint> keys, Span<uint> keyScratch, Span<int> orderScratch)
    {
        int n = scores.Length;
        for (int i = 0; i < n; i++)
        {
            keys[i] = DescendingKey(scores[i]);
            order[i] = i;
        }
        Span<int> counts = stackalloc int[256];
        for (int shift = 0; shift < 32; shift += 8)
        {
            counts.Clear();
            for (int i = 0; i < n; i++)
            {
                counts[(int)(keys[i] >> shift) & 0xff]++;
            }
            if (counts[(int)(keys[0] >> shift) & 0xff] == n)
            {
                continue;  // every key has this digit: the pass would not move anything
            }
            int sum = 0;
            for (int d = 0; d < 256; d++)
            {
                int c = counts[d];
                counts[d] = sum;
                sum += c;
            }
            for (int i = 0; i < n; i++)
            {
                int d = (int)(keys[i] >> shift) & 0xff;
                int at = counts[d]++;
                keyScratch[at] = keys[i];
                orderScratch[at] = order[i];
            }
            keyScratch[..n].CopyTo(keys);
            orderScratch[..n].CopyTo(order);
        }
    }

    /// <summary>An unsigned key whose ascending order is the scores' descending order; -0 and +0 tie, as numpy compares them.</summary>
    internal static uint DescendingKey(float score)
    {
        uint bits = score == 0f ? 0u : BitConverter.SingleToUInt32Bits(score);
        uint ascending = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ~ascending;
    }
}

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
    /// at least as long as the input. One pass counts all three digits; each digit's pass then moves
    /// the data between the input and the scratch (no copy back in between), and a digit that every
    /// key shares is skipped.
    /// </summary>
    public static void Sort(Span<uint> keys, Span<byte> payload, Span<uint> keyScratch, Span<byte> payloadScratch)
    {
        int n = keys.Length;
        if (n < 2)
        {
            return;
        }
        Span<int> counts = stackalloc int[3 * Buckets];
        counts.Clear();
        Span<int> c0 = counts[..Buckets], c1 = counts.Slice(Buckets, Buckets), c2 = counts.Slice(2 * Buckets, Buckets);
        foreach (uint key in keys)
        {
            c0[(int)(key & (Buckets - 1))]++;
            c1[(int)((key >> DigitBits) & (Buckets - 1))]++;
            c2[(int)(key >> (2 * DigitBits))]++;
        }
        Span<uint> fromKeys = keys, toKeys = keyScratch[..n];
        Span<byte> fromPayload = payload, toPayload = payloadScratch[..n];
        for (int digit = 0; digit < 3; digit++)
        {
            int shift = digit * DigitBits;
            Span<int> c = counts.Slice(digit * Buckets, Buckets);
            if (c[(int)(fromKeys[0] >> shift) & (Buckets - 1)] == n)
            {
                continue;  // every key has this digit: the pass would not move anything
            }
            int sum = 0;
            for (int d = 0; d < Buckets; d++)
            {
                int count = c[d];
                c[d] = sum;
                sum += count;
            }
            for (int i = 0; i < n; i++)
            {
                uint key = fromKeys[i];
                int at = c[(int)(key >> shift) & (Buckets - 1)]++;
                toKeys[at] = key;
                toPayload[at] = fromPayload[i];
            }
            Span<uint> k = fromKeys;
            fromKeys = toKeys;
            toKeys = k;
            Span<byte> p = fromPayload;
            fromPayload = toPayload;
            toPayload = p;
        }
        if (fromKeys != keys)
        {
            fromKeys.CopyTo(keys);
            fromPayload.CopyTo(payload);
        }
    }

    /// <summary>
    /// Sorts items that carry a key in their upper 32 bits and a one-byte payload in the lowest 8
    /// (<c>key &lt;&lt; 8 | payload</c>) by key, ascending and stable. One pass distributes the items by
    /// the key's top 12 bits into <paramref name="scratch"/>; each of those buckets (a few thousand items
    /// for probabilities, which crowd a few exponents) is then sorted by the low 20 bits while it sits in
    /// the first cache levels: two passes of 10-bit digits, or an insertion sort when small. Four passes
    /// over the whole array, as a plain least-significant-digit sort makes, were measured 1.6x slower.
    /// </summary>
    /// <returns>Where the sorted items are: <paramref name="items"/> for fewer than two, else the first <c>n</c> of <paramref name="scratch"/> (no copy back).</returns>
    public static Span<ulong> SortItems(Span<ulong> items, Span<ulong> scratch)
    {
        int n = items.Length;
        if (n < 2)
        {
            return items;
        }
        const int TopBits = 12, TopShift = 8 + 20;
        int[] starts = new int[(1 << TopBits) + 1];
        foreach (ulong item in items)
        {
            starts[(int)(item >> TopShift) + 1]++;
        }
        for (int d = 1; d < starts.Length; d++)
        {
            starts[d] += starts[d - 1];
        }
        Span<int> next = stackalloc int[1 << TopBits];
        starts.AsSpan(0, 1 << TopBits).CopyTo(next);
        Span<ulong> bucketed = scratch[..n];
        foreach (ulong item in items)
        {
            bucketed[next[(int)(item >> TopShift)]++] = item;
        }
        Span<int> counts = stackalloc int[2 * 1024];
        for (int bucket = 0; bucket < 1 << TopBits; bucket++)
        {
            int from = starts[bucket], length = starts[bucket + 1] - from;
            if (length > 1)
            {
                SortLow20(bucketed.Slice(from, length), items.Slice(from, length), counts);
            }
        }
        return bucketed;
    }

    /// <summary>Stable sort of one bucket by the key's low 20 bits; the result is left in <paramref name="data"/>.</summary>
    private static void SortLow20(Span<ulong> data, Span<ulong> spare, Span<int> counts)
    {
        int n = data.Length;
        if (n <= 32)
        {
            for (int i = 1; i < n; i++)
            {
                ulong item = data[i];
                uint key = KeyOf(item);
                int j = i - 1;
                while (j >= 0 && KeyOf(data[j]) > key)
                {
                    data[j + 1] = data[j];
                    j--;
                }
                data[j + 1] = item;
            }
            return;
        }
        counts.Clear();
        Span<int> low = counts[..1024], high = counts.Slice(1024, 1024);
        foreach (ulong item in data)
        {
            low[(int)(item >> 8) & 1023]++;
            high[(int)(item >> 18) & 1023]++;
        }
        bool lowMoves = low[(int)(data[0] >> 8) & 1023] != n, highMoves = high[(int)(data[0] >> 18) & 1023] != n;
        if (lowMoves && highMoves)
        {
            Scatter(data, spare, low, 8);
            Scatter(spare, data, high, 18);
        }
        else if (lowMoves || highMoves)
        {
            Scatter(data, spare, lowMoves ? low : high, lowMoves ? 8 : 18);
            spare.CopyTo(data);
        }
    }

    private static void Scatter(Span<ulong> from, Span<ulong> to, Span<int> counts, int shift)
    {
        int sum = 0;
        for (int d = 0; d < counts.Length; d++)
        {
            int count = counts[d];
            counts[d] = sum;
            sum += count;
        }
        foreach (ulong item in from)
        {
            to[counts[(int)(item >> shift) & 1023]++] = item;
        }
    }

    /// <summary>The key of an item of <see cref="SortItems"/>.</summary>
    public static uint KeyOf(ulong item) => (uint)(item >> 8);

    /// <summary>An item of <see cref="SortItems"/>: the score's <see cref="DescendingKey"/> and a one-byte payload.</summary>
    public static ulong Item(float score, byte payload) => ((ulong)DescendingKey(score) << 8) | payload;

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

namespace Miil.ML.Testing;

/// <summary>
/// Upper bounds that NaN cannot pass. MSTest's <c>IsLessThan</c> and <c>IsLessThanOrEqualTo</c> order
/// by <c>CompareTo</c>, where NaN sorts below every number, and LINQ's <c>Max</c> skips NaN: an error
/// computed from NaN logits passed both. Every bound on a computed error goes through here.
/// </summary>
internal static class Bounds
{
    /// <summary>Fails unless <paramref name="value"/> &lt;= <paramref name="bound"/> (NaN fails).</summary>
    public static void AtMost(double bound, double value, string what = "value")
    {
        if (!(value <= bound))
        {
            Assert.Fail($"{what}: {value:E3} is not at most {bound:E3}.");
        }
    }

    /// <summary>Fails unless <paramref name="value"/> &lt; <paramref name="bound"/> (NaN fails).</summary>
    public static void Below(double bound, double value, string what = "value")
    {
        if (!(value < bound))
        {
            Assert.Fail($"{what}: {value:E3} is not below {bound:E3}.");
        }
    }

    /// <summary>The largest |expected - actual| over pairs of equal-length sequences; NaN when any pair gives NaN.</summary>
    public static double MaxAbsDifference(IEnumerable<double> expected, IEnumerable<double> actual)
    {
        double worst = 0;
        int count = 0;
        using IEnumerator<double> e = expected.GetEnumerator(), a = actual.GetEnumerator();
        while (true)
        {
            bool moreExpected = e.MoveNext(), moreActual = a.MoveNext();
            if (moreExpected != moreActual)
            {
                Assert.Fail($"The sequences differ in length: one ends after {count} values, the other does not.");
            }
            if (!moreExpected)
            {
                return worst;
            }
            double difference = Math.Abs(e.Current - a.Current);
            if (double.IsNaN(difference))
            {
                return double.NaN;
            }
            worst = Math.Max(worst, difference);
            count++;
        }
    }

    /// <inheritdoc cref="MaxAbsDifference(IEnumerable{double}, IEnumerable{double})"/>
    public static double MaxAbsDifference(IEnumerable<float> expected, IEnumerable<float> actual)
        => MaxAbsDifference(expected.Select(v => (double)v), actual.Select(v => (double)v));

    /// <inheritdoc cref="MaxAbsDifference(IEnumerable{double}, IEnumerable{double})"/>
    public static double MaxAbsDifference(IEnumerable<double> expected, IEnumerable<float> actual)
        => MaxAbsDifference(expected, actual.Select(v => (double)v));

    /// <inheritdoc cref="MaxAbsDifference(IEnumerable{double}, IEnumerable{double})"/>
    public static double MaxAbsDifference(IEnumerable<float> expected, IEnumerable<double> actual)
        => MaxAbsDifference(expected.Select(v => (double)v), actual);
}

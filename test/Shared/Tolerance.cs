namespace Miil.ML.Testing;

/// <summary>|actual - expected| &lt;= Absolute + Relative * |expected|, element by element.</summary>
internal readonly record struct Tolerance(double Absolute, double Relative)
{
    public static Tolerance Float64 { get; } = new(1e-12, 1e-9);

    public static Tolerance Float32 { get; } = new(1e-6, 1e-5);

    public void AssertClose(double expected, double actual, string what)
    {
        double bound = Absolute + Relative * Math.Abs(expected);
        if (!(Math.Abs(actual - expected) <= bound))
        {
            Assert.Fail($"{what}: expected {expected:R}, got {actual:R} (|diff| {Math.Abs(actual - expected):E3} > {bound:E3}).");
        }
    }

    public void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<double> actual, string what)
    {
        Assert.HasCount(expected.Count, actual, $"{what}: length");
        for (int i = 0; i < expected.Count; i++)
        {
            AssertClose(expected[i], actual[i], $"{what}[{i}]");
        }
    }
}

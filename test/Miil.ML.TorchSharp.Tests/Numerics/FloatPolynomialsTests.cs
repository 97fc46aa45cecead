using System.Numerics;
using System.Runtime.Intrinsics;
using Miil.ML.TorchSharp.Numerics;

namespace Miil.ML.TorchSharp.Tests.Numerics;

/// <summary>
/// The single-precision exp and log polynomials against double precision, over the ranges the loss
/// uses, on every vector width the machine has: relative error within the stated 2.5e-7 (float's
/// half-ulp is 6e-8; libm's expf/logf are within 1 ulp).
/// </summary>
[TestClass]
public sealed class FloatPolynomialsTests
{
    private const double Bound = 2.5e-7;

    private static float[] Points(float from, float to, int count, bool logarithmic)
    {
        var points = new float[count];
        for (int i = 0; i < count; i++)
        {
            double t = (double)i / (count - 1);
            points[i] = logarithmic ? (float)Math.Exp(Math.Log(from) + t * (Math.Log(to) - Math.Log(from))) : (float)(from + t * (to - from));
        }
        return points;
    }

    [TestMethod]
    public void ExpIsWithinBoundOfDoublePrecision()
    {
        float[] x = [.. Points(-87f, 88f, 400_001, logarithmic: false), .. Points(-1f, 1f, 100_001, logarithmic: false), 0f, -0f];
        Check(x, Math.Exp, Exp512, ExpNative, "exp");
    }

    [TestMethod]
    public void LogIsWithinBoundOfDoublePrecision()
    {
        float[] x = [.. Points(1.2e-38f, 3e38f, 400_001, logarithmic: true), .. Points(0.5f, 2f, 100_001, logarithmic: false), 1f, 1e-8f];
        Check(x, Math.Log, Log512, LogNative, "log");
    }

    [TestMethod]
    public void ExpClampsInsteadOfOverflowing()
    {
        float[] x = [100f, -100f, 88.5f, -87.5f];
        float[] y = new float[x.Length];
        Apply(x, y, ExpNative, Vector<float>.Count);
        Assert.IsTrue(y.All(float.IsFinite), string.Join(", ", y));
        Assert.IsTrue(y[1] > 0 && y[1] < 1e-37f);
    }

    private static void Check(float[] x, Func<double, double> exact, Func<Vector512<float>, Vector512<float>> wide, Func<Vector<float>, Vector<float>> native, string name)
    {
        var y = new float[x.Length];
        if (Vector512.IsHardwareAccelerated)
        {
            Apply(x, y, v => wide(Vector512.Create(v)), Vector512<float>.Count);
            AssertClose(x, y, exact, name + " (512-bit)");
        }
        if (Vector.IsHardwareAccelerated)
        {
            Apply(x, y, v => native(new Vector<float>(v)), Vector<float>.Count);
            AssertClose(x, y, exact, name + $" ({Vector<float>.Count * 32}-bit)");
        }
    }

    private static void Apply(float[] x, float[] y, Func<ReadOnlySpan<float>, Vector512<float>> f, int width)
    {
        var padded = new float[(x.Length + width - 1) / width * width];
        x.CopyTo(padded, 0);
        for (int i = 0; i < padded.Length; i += width)
        {
            float[] lanes = new float[width];
            f(padded.AsSpan(i, width)).CopyTo(lanes);
            Array.Copy(lanes, 0, y, i, Math.Min(width, x.Length - i));
        }
    }

    private static void Apply(float[] x, float[] y, Func<ReadOnlySpan<float>, Vector<float>> f, int width)
    {
        var padded = new float[(x.Length + width - 1) / width * width];
        x.CopyTo(padded, 0);
        for (int i = 0; i < padded.Length; i += width)
        {
            Vector<float> v = f(padded.AsSpan(i, width));
            for (int k = 0; k < width && i + k < x.Length; k++)
            {
                y[i + k] = v[k];
            }
        }
    }

    private static void Apply(float[] x, float[] y, Func<Vector<float>, Vector<float>> f, int width)
        => Apply(x, y, (ReadOnlySpan<float> s) => f(new Vector<float>(s)), width);

    private static void AssertClose(float[] x, float[] y, Func<double, double> exact, string name)
    {
        double worst = 0;
        int at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double e = exact(x[i]);
            double error = e == 0 ? Math.Abs(y[i]) : Math.Abs(y[i] - e) / Math.Abs(e);
            if (error > worst)
            {
                (worst, at) = (error, i);
            }
        }
        Bounds.AtMost(Bound, worst, $"{name}: relative error {worst:E2} at {x[at]:R} ({y[at]:R} vs {exact(x[at]):R})");
    }

    private static Vector512<float> Exp512(Vector512<float> v) => FloatPolynomials.Exp<Vector512<float>, Lanes512<float>>(v);

    private static Vector512<float> Log512(Vector512<float> v) => FloatPolynomials.Log<Vector512<float>, Lanes512<float>>(v);

    private static Vector<float> ExpNative(Vector<float> v) => FloatPolynomials.Exp<Vector<float>, LanesNative<float>>(v);

    private static Vector<float> LogNative(Vector<float> v) => FloatPolynomials.Log<Vector<float>, LanesNative<float>>(v);
}

using System.Runtime.CompilerServices;

namespace Miil.ML.TorchSharp.Numerics;

/// <summary>
/// Single-precision exp and log on SIMD lanes as polynomials (Cephes' <c>expf</c> and <c>logf</c>
/// coefficients, as Sleef and libtorch's vectorised kernels use them): .NET's own
/// <c>Vector512.Exp/Log</c> for float widen to double inside, which made them the cost of the loss.
/// Relative error within 2.5e-7 over the ranges the loss uses (tested against double precision).
/// </summary>
internal static class FloatPolynomials
{
    /// <summary>Largest argument taken: e^88 is finite in float and its 2^k (k = 127) still has an exponent.</summary>
    private const float MaxArgument = 88f;

    /// <summary>Smallest argument whose exp is a normal float (scaling by 2^k below it would leave the exponent range).</summary>
    private const float MinArgument = -87.3365447505531f;

    /// <summary>
    /// e^v: v = k ln 2 + r with |r| &lt;= ln 2 / 2 (ln 2 split in two parts for an exact reduction), a
    /// degree-6 polynomial for e^r, and the scaling by 2^k in the exponent bits. Arguments beyond the
    /// normal range are clamped (e^89 gives e^88 rather than infinity, e^-88 float's
    /// smallest normal rather than a denormal or 0), which the loss's clamps make harmless.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp<TV, TL>(TV v)
        where TV : struct
        where TL : struct, ISimdLanes<TV, float>
    {
        TV x = TL.Select(TL.Greater(v, TL.Broadcast(MaxArgument)), TL.Broadcast(MaxArgument), v);
        x = TL.Select(TL.Greater(TL.Broadcast(MinArgument), x), TL.Broadcast(MinArgument), x);
        TV k = TL.RoundToInteger(TL.Multiply(x, TL.Broadcast(1.44269504088896341f)));
        TV r = TL.Subtract(TL.Subtract(x, TL.Multiply(k, TL.Broadcast(0.693359375f))), TL.Multiply(k, TL.Broadcast(-2.12194440e-4f)));
        TV p = TL.Broadcast(1.9875691500e-4f);
        p = TL.Add(TL.Multiply(p, r), TL.Broadcast(1.3981999507e-3f));
        p = TL.Add(TL.Multiply(p, r), TL.Broadcast(8.3334519073e-3f));
        p = TL.Add(TL.Multiply(p, r), TL.Broadcast(4.1665795894e-2f));
        p = TL.Add(TL.Multiply(p, r), TL.Broadcast(1.6666665459e-1f));
        p = TL.Add(TL.Multiply(p, r), TL.Broadcast(5.0000001201e-1f));
        TV e = TL.Add(TL.Add(TL.Multiply(TL.Multiply(p, r), r), r), TL.Broadcast(1f));
        return TL.ScaleByPowerOfTwo(e, k);
    }

    /// <summary>
    /// ln v for positive normal v: v = m 2^e with m in [sqrt(1/2), sqrt(2)), a degree-9 polynomial
    /// for ln(1 + (m - 1)), and e ln 2 added in two parts. Lanes at or below zero, denormal, infinite
    /// or NaN give meaningless values: callers select them away (the loss clamps at eps first).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Log<TV, TL>(TV v)
        where TV : struct
        where TL : struct, ISimdLanes<TV, float>
    {
        (TV m, TV e) = TL.Decompose(v);
        TV one = TL.Broadcast(1f);
        TV small = TL.Greater(TL.Broadcast(0.707106781186547524f), m);
        e = TL.Select(small, TL.Subtract(e, one), e);
        TV x = TL.Subtract(TL.Select(small, TL.Add(m, m), m), one);
        TV z = TL.Multiply(x, x);
        TV p = TL.Broadcast(7.0376836292e-2f);
        p = TL.Add(TL.Multiply(p, x), TL.Broadcast(-1.1514610310e-1f));
        p = TL.Add(TL.Multiply(p, x), TL.Broadcast(1.1676998740e-1f));
        p = TL.Add(TL.Multiply(p, x), TL.Broadcast(-1.2420140846e-1f));
        p = TL.Add(TL.Multiply(p, x), TL.Broadcast(1.4249322787e-1f));
        p = TL.Add(TL.Multiply(p, x), TL.Broadcast(-1.6668057665e-1f));
        p = TL.Add(TL.Multiply(p, x), TL.Broadcast(2.0000714765e-1f));
        p = TL.Add(TL.Multiply(p, x), TL.Broadcast(-2.4999993993e-1f));
        p = TL.Add(TL.Multiply(p, x), TL.Broadcast(3.3333331174e-1f));
        TV y = TL.Multiply(TL.Multiply(p, x), z);
        y = TL.Add(y, TL.Multiply(e, TL.Broadcast(-2.12194440e-4f)));
        y = TL.Subtract(y, TL.Multiply(z, TL.Broadcast(0.5f)));
        return TL.Add(TL.Add(x, y), TL.Multiply(e, TL.Broadcast(0.693359375f)));
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using Miil.ML.TorchSharp.Numerics;

namespace Miil.ML.TorchSharp.Losses;

/// <summary>
/// The element formula of <see cref="AsymmetricLossKernel"/> on SIMD vectors, written once for any
/// width (<see cref="ISimdLanes{TV, T}"/>). Lanes compute both branches (positive and negative) and
/// select; the single logarithm and single exponential per element dominate the cost.
/// </summary>
internal static class AsymmetricLossLanes
{
    /// <summary>
    /// Runs over the whole vectors of the range; returns how many elements it covered (the caller
    /// finishes the tail with the scalar formula).
    /// </summary>
    public static int Run<T, TV, TL>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> gradient, Span<T> elementLoss,
                                     in AsymmetricLossKernel.Parameters<T> p, int offset, out AsymmetricLossKernel.Totals totals)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct
        where TL : struct, ISimdLanes<TV, T>
    {
        int width = TL.Count;
        bool withLoss = !elementLoss.IsEmpty;
        var c = new Constants<T, TV, TL>(p);
        double sum = 0;
        long ignored = 0;
        int i = 0;
        for (; i <= logits.Length - width; i += width)
        {
            TV z = TL.Load(logits[i..]);
            TV y = TL.Load(targets[i..]);
            if (!Valid<T, TV, TL>(z, y, c, p.Ignore))
            {
                // The scalar formula finds the element and throws with its index.
                AsymmetricLossKernel.ScalarRange(logits.Slice(i, width), targets.Slice(i, width), gradient.Slice(i, width), Span<T>.Empty, p, offset + i);
            }
            (TV loss, TV grad, TV ignoredMask) = Elements<T, TV, TL>(z, y, p, c);
            TL.Store(grad, gradient[i..]);
            if (withLoss)
            {
                TL.Store(loss, elementLoss[i..]);
            }
            sum += TL.SumAsDouble(loss);
            if (p.Ignore)
            {
                ignored += TL.CountSet(ignoredMask);
            }
        }
        totals = new AsymmetricLossKernel.Totals(sum, i - ignored);
        return i;
    }

    /// <summary>Parameters broadcast once per range rather than once per vector.</summary>
    private readonly struct Constants<T, TV, TL>(in AsymmetricLossKernel.Parameters<T> p)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct
        where TL : struct, ISimdLanes<TV, T>
    {
        public readonly TV One = TL.Broadcast(T.One);
        public readonly TV Zero = TL.Broadcast(T.Zero);
        public readonly TV MinusOne = TL.Broadcast(T.NegativeOne);
        public readonly TV Clip = TL.Broadcast(p.Clip);
        public readonly TV Eps = TL.Broadcast(p.Eps);
        public readonly TV LogEps = TL.Broadcast(p.LogEps);
        public readonly TV GammaPos = TL.Broadcast(p.GammaPos);
        public readonly TV GammaNeg = TL.Broadcast(p.GammaNeg);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Valid<T, TV, TL>(TV z, TV y, in Constants<T, TV, TL> c, bool ignore)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct
        where TL : struct, ISimdLanes<TV, T>
    {
        // z - z is 0 for finite z and NaN for NaN or infinity.
        TV allowed = TL.Or(TL.Equal(y, c.One), TL.Equal(y, c.Zero));
        if (ignore)
        {
            allowed = TL.Or(allowed, TL.Equal(y, c.MinusOne));
        }
        return TL.AllSet(TL.And(TL.Equal(TL.Subtract(z, z), c.Zero), allowed));
    }

    /// <summary>The element formula (see <see cref="AsymmetricLossKernel"/>) on a vector of lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (TV Loss, TV Grad, TV IgnoredMask) Elements<T, TV, TL>(TV z, TV y, in AsymmetricLossKernel.Parameters<T> p, in Constants<T, TV, TL> c)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct
        where TL : struct, ISimdLanes<TV, T>
    {
        TV one = c.One, zero = c.Zero;
        TV positive = TL.Equal(y, one);
        TV prob = TL.Divide(one, TL.Add(one, TL.Exp(TL.Negate(z))));

        TV ignoredMask = p.Ignore ? TL.Equal(y, c.MinusOne) : zero;
        TV neg = TL.Subtract(one, prob);
        TV dneg = TL.Negate(TL.Multiply(prob, neg));
        if (p.Clip > T.Zero)
        {
            neg = TL.Add(neg, c.Clip);
            TV easy = TL.Greater(neg, one);
            if (TL.AllSet(TL.Or(TL.AndNot(easy, positive), ignoredMask)))
            {
                // Every lane is an easy negative (or ignored): no loss, no gradient, no logarithm.
                // Late in training most negatives are, so this is the common vector.
                return (zero, zero, ignoredMask);
            }
            neg = TL.Select(easy, one, neg);
            dneg = TL.Select(easy, zero, dneg);
        }
        TV x = TL.Select(positive, prob, neg);
        TV dx = TL.Select(positive, TL.Multiply(prob, TL.Subtract(one, prob)), dneg);

        TV inside = TL.GreaterOrEqual(x, c.Eps);
        TV log = TL.Select(inside, TL.Log(x), c.LogEps);
        TV dlog = TL.Select(inside, TL.Divide(dx, x), zero);

        TV loss = log, grad = dlog;
        if (p.Focusing)
        {
            TV b = TL.Subtract(one, x);
            TV w = TL.Select(positive, Pow<T, TV, TL>(b, p.GammaPos, c.GammaPos, c), Pow<T, TV, TL>(b, p.GammaNeg, c.GammaNeg, c));
            loss = TL.Multiply(log, w);
            grad = TL.Multiply(dlog, w);
            if (!p.Detach)
            {
                TV g = TL.Select(positive, c.GammaPos, c.GammaNeg);
                TV atZero = TL.Select(TL.Equal(g, one), TL.Negate(dx), zero);
                TV dw = TL.Select(TL.Greater(b, zero), TL.Multiply(TL.Divide(TL.Multiply(g, w), b), TL.Negate(dx)), atZero);
                grad = TL.Add(grad, TL.Multiply(log, TL.Select(TL.Equal(dx, zero), zero, dw)));
            }
        }
        return (TL.AndNot(TL.Negate(loss), ignoredMask), TL.AndNot(TL.Negate(grad), ignoredMask), ignoredMask);
    }

    /// <summary>x^g for x >= 0, pow(0, 0) = 1; small integer exponents by multiplication.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Pow<T, TV, TL>(TV x, T g, TV gv, in Constants<T, TV, TL> c)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct
        where TL : struct, ISimdLanes<TV, T>
    {
        T two = T.One + T.One;
        if (g == T.Zero)
        {
            return c.One;
        }
        if (g == T.One)
        {
            return x;
        }
        if (g == two)
        {
            return TL.Multiply(x, x);
        }
        if (g == two * two)
        {
            TV x2 = TL.Multiply(x, x);
            return TL.Multiply(x2, x2);
        }
        // log(0) = -inf gives exp(-inf) = 0 for g > 0.
        return TL.Exp(TL.Multiply(gv, TL.Log(x)));
    }
}

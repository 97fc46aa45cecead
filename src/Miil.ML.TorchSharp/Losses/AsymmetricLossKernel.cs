using System.Numerics;
using System.Runtime.CompilerServices;

namespace Miil.ML.TorchSharp.Losses;

/// <summary>
/// The multi-label ASL, element by element, with its derivative d loss / d logit, in one SIMD pass
/// over CPU memory. Composing the formula from tensor operations costs many times binary
/// cross-entropy (a dozen element-wise passes forward and as many backward); this pass produces the
/// loss and the gradient together, and back-propagation is then one multiplication.
/// </summary>
/// <remarks>
/// <para>Every element follows one formula, written once for SIMD vectors and once for the scalar
/// tail. With x the probability inside the logarithm (p for a positive, the shifted
/// <c>min(1 - p + m, 1)</c> for a negative) and b = 1 - x:
/// <c>loss = -log(max(x, eps)) * b^gamma</c>, where the derivative of log and of b^gamma follow x.
/// </para>
/// <para>Every step runs in the tensor's own precision in the reference's order (sigmoid, 1 - p,
/// + clip, clamp, log, pow), so that float32 saturates exactly where the reference's float32 does:
/// for a logit of 17, 1 - sigmoid is 0 in float32 and the eps clamp decides the loss, not the true
/// 4e-8.</para>
/// </remarks>
internal static class AsymmetricLossKernel
{
    /// <summary>Elements per parallel chunk; below two chunks the pass stays on the calling thread.</summary>
    private const int ChunkSize = 32768;

    internal readonly struct Parameters<T>(AsymmetricLossOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly T GammaPos = T.CreateChecked(options.GammaPos);
        public readonly T GammaNeg = T.CreateChecked(options.GammaNeg);
        public readonly T Clip = T.CreateChecked(options.Clip);
        public readonly T Eps = T.CreateChecked(options.Eps);
        public readonly T LogEps = T.Log(T.CreateChecked(options.Eps));
        public readonly bool Focusing = options.GammaNeg > 0 || options.GammaPos > 0;
        public readonly bool Detach = options.DetachFocalWeight;
        public readonly bool Ignore = options.IgnoreLabel;
    }

    /// <summary>The scalar parameters broadcast to vectors once per range rather than per vector.</summary>
    private readonly struct Broadcast<T>(in Parameters<T> p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly Vector<T> Clip = new(p.Clip);
        public readonly Vector<T> Eps = new(p.Eps);
        public readonly Vector<T> LogEps = new(p.LogEps);
        public readonly Vector<T> GammaPos = new(p.GammaPos);
        public readonly Vector<T> GammaNeg = new(p.GammaNeg);
    }

    /// <summary>Result of a pass: the summed loss (in double) and the number of elements that count.</summary>
    internal readonly record struct Totals(double Sum, long Counted);

    /// <summary>
    /// Writes <c>d loss / dz</c> of every element into <paramref name="gradient"/> and, when
    /// <paramref name="elementLoss"/> is not empty, each element's loss; returns the summed loss.
    /// Partial sums are added in chunk order, so the result does not depend on thread timing.
    /// </summary>
    /// <exception cref="ArgumentException">A logit is not finite or a target is not allowed; the message names its index.</exception>
    public static Totals Run<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> gradient, Span<T> elementLoss,
                                in Parameters<T> p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = logits.Length;
        int chunks = (n + ChunkSize - 1) / ChunkSize;
        if (chunks <= 1)
        {
            return RunRange(logits, targets, gradient, elementLoss, p, 0);
        }

        // Spans cannot enter a lambda; the callers keep the tensors alive for the whole call.
        unsafe
        {
            fixed (T* z = logits, y = targets, g = gradient, l = elementLoss)
            {
                var sums = new Totals[chunks];
                nint zp = (nint)z, yp = (nint)y, gp = (nint)g, lp = (nint)l;
                bool withLoss = !elementLoss.IsEmpty;
                Parameters<T> parameters = p;
                Parallel.For(0, chunks, c =>
                {
                    int start = c * ChunkSize;
                    int length = Math.Min(ChunkSize, n - start);
                    sums[c] = RunRange(
                        new ReadOnlySpan<T>((T*)zp + start, length),
                        new ReadOnlySpan<T>((T*)yp + start, length),
                        new Span<T>((T*)gp + start, length),
                        withLoss ? new Span<T>((T*)lp + start, length) : Span<T>.Empty,
                        parameters, start);
                });
                double sum = 0;
                long counted = 0;
                foreach (Totals s in sums)
                {
                    sum += s.Sum;
                    counted += s.Counted;
                }
                return new Totals(sum, counted);
            }
        }
    }

    private static Totals RunRange<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> gradient, Span<T> elementLoss,
                                      in Parameters<T> p, int offset)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = Vector<T>.Count;
        bool withLoss = !elementLoss.IsEmpty;
        var sum = Vector<double>.Zero;
        long ignored = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var broadcast = new Broadcast<T>(p);
            for (; i <= logits.Length - width; i += width)
            {
                var z = new Vector<T>(logits[i..]);
                var y = new Vector<T>(targets[i..]);
                if (!Valid(z, y, p))
                {
                    // Let the scalar loop find the element and throw with its index.
                    ScalarRange(logits.Slice(i, width), targets.Slice(i, width), gradient.Slice(i, width), Span<T>.Empty, p, offset + i);
                }
                (Vector<T> loss, Vector<T> grad, Vector<T> ignoredMask) = Elements(z, y, p, broadcast);
                grad.CopyTo(gradient[i..]);
                if (withLoss)
                {
                    loss.CopyTo(elementLoss[i..]);
                }
                sum += Widen(loss);
                if (p.Ignore)
                {
                    ignored += CountSet(ignoredMask);
                }
            }
        }
        Totals tail = ScalarRange(logits[i..], targets[i..], gradient[i..], withLoss ? elementLoss[i..] : Span<T>.Empty, p, offset + i);
        return new Totals(Vector.Sum(sum) + tail.Sum, i - ignored + tail.Counted);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Valid<T>(Vector<T> z, Vector<T> y, in Parameters<T> p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // z - z is 0 for finite z and NaN for NaN or infinity.
        if (!Vector.EqualsAll(z - z, Vector<T>.Zero))
        {
            return false;
        }
        Vector<T> allowed = Vector.Equals(y, Vector<T>.One) | Vector.Equals(y, Vector<T>.Zero);
        if (p.Ignore)
        {
            allowed |= Vector.Equals(y, -Vector<T>.One);
        }
        // Masks are all-ones lanes, which read as NaN: compare their bytes, not their values.
        return Vector.EqualsAll(allowed.As<T, byte>(), Vector<byte>.AllBitsSet);
    }

    /// <summary>The element formula (see the type's remarks) on a vector of lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<T> Loss, Vector<T> Grad, Vector<T> IgnoredMask) Elements<T>(Vector<T> z, Vector<T> y, in Parameters<T> p, in Broadcast<T> v)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector<T> one = Vector<T>.One, zero = Vector<T>.Zero;
        Vector<T> positive = Vector.Equals(y, one);
        Vector<T> prob = one / (one + Exp(-z));

        Vector<T> neg = one - prob;
        Vector<T> dneg = -(prob * neg);
        if (p.Clip > T.Zero)
        {
            neg += v.Clip;
            Vector<T> easy = Vector.GreaterThan(neg, one);
            neg = Vector.ConditionalSelect(easy, one, neg);
            dneg = Vector.ConditionalSelect(easy, zero, dneg);
        }
        Vector<T> x = Vector.ConditionalSelect(positive, prob, neg);
        Vector<T> dx = Vector.ConditionalSelect(positive, prob * (one - prob), dneg);

        Vector<T> inside = Vector.GreaterThanOrEqual(x, v.Eps);
        Vector<T> log = Vector.ConditionalSelect(inside, Log(x), v.LogEps);
        Vector<T> dlog = Vector.ConditionalSelect(inside, dx / x, zero);

        Vector<T> loss = log, grad = dlog;
        if (p.Focusing)
        {
            Vector<T> b = one - x;
            Vector<T> w = Vector.ConditionalSelect(positive, Pow(b, p.GammaPos, v.GammaPos), Pow(b, p.GammaNeg, v.GammaNeg));
            loss = log * w;
            grad = dlog * w;
            if (!p.Detach)
            {
                Vector<T> g = Vector.ConditionalSelect(positive, v.GammaPos, v.GammaNeg);
                Vector<T> atZero = Vector.ConditionalSelect(Vector.Equals(g, one), -dx, zero);
                Vector<T> dw = Vector.ConditionalSelect(Vector.GreaterThan(b, zero), g * w / b * -dx, atZero);
                grad += log * Vector.ConditionalSelect(Vector.Equals(dx, zero), zero, dw);
            }
        }
        Vector<T> ignoredMask = p.Ignore ? Vector.Equals(y, -one) : zero;
        return (Vector.AndNot(-loss, ignoredMask), Vector.AndNot(-grad, ignoredMask), ignoredMask);
    }

    private static Totals ScalarRange<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> gradient, Span<T> elementLoss,
                                         in Parameters<T> p, int offset)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sum = 0;
        long counted = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            T z = logits[i], y = targets[i];
            if (!T.IsFinite(z))
            {
                throw new ArgumentException($"Logit at flat index {offset + i} is {z}; the asymmetric loss needs finite logits.", "logits");
            }
            T loss = T.Zero, grad = T.Zero;
            if (y == T.One || y == T.Zero)
            {
                (loss, grad) = Element(z, y == T.One, p);
                counted++;
            }
            else if (!(p.Ignore && y == T.NegativeOne))
            {
                string allowed = p.Ignore ? "-1 (ignored), 0 or 1" : "0 or 1 (set IgnoreLabel to allow -1)";
                throw new ArgumentException($"Target at flat index {offset + i} is {y}; multi-label targets must be {allowed}.", "targets");
            }
            gradient[i] = grad;
            if (!elementLoss.IsEmpty)
            {
                elementLoss[i] = loss;
            }
            sum += double.CreateTruncating(loss);
        }
        return new Totals(sum, counted);
    }

    /// <summary>The element formula (see the type's remarks) on one element.</summary>
    private static (T Loss, T Grad) Element<T>(T z, bool positive, in Parameters<T> p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T prob = T.One / (T.One + T.Exp(-z));
        T x, dx;
        if (positive)
        {
            x = prob;
            dx = prob * (T.One - prob);
        }
        else
        {
            x = T.One - prob;
            dx = -(prob * x);
            if (p.Clip > T.Zero)
            {
                x += p.Clip;
                if (x > T.One)
                {
                    // Shifted below zero: an easy negative, no loss and no gradient.
                    x = T.One;
                    dx = T.Zero;
                }
            }
        }
        bool inside = x >= p.Eps;    // the clamp passes gradient where it does not bite
        T log = inside ? T.Log(x) : p.LogEps;
        T dlog = inside ? dx / x : T.Zero;
        if (!p.Focusing)
        {
            return (-log, -dlog);
        }
        T g = positive ? p.GammaPos : p.GammaNeg;
        T b = T.One - x;
        T w = Pow(b, g);
        T dl = dlog * w;
        if (!p.Detach && dx != T.Zero)
        {
            // d b^g / dz = g * b^(g-1) * (-dx), written through w so that it stays finite at b = 0.
            dl += log * (b > T.Zero ? g * w / b * -dx : (g == T.One ? -dx : T.Zero));
        }
        return (-(log * w), -dl);
    }

    /// <summary>x^g with pow(0, 0) = 1, as torch.pow; small integer exponents by multiplication.</summary>
    private static T Pow<T>(T x, T g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T two = T.One + T.One;
        if (g == T.Zero)
        {
            return T.One;
        }
        if (g == T.One)
        {
            return x;
        }
        if (g == two)
        {
            return x * x;
        }
        if (g == two * two)
        {
            T x2 = x * x;
            return x2 * x2;
        }
        return T.Pow(x, g);
    }

    /// <inheritdoc cref="Pow{T}(T, T)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Pow<T>(Vector<T> x, T g, Vector<T> gv)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T two = T.One + T.One;
        if (g == T.Zero)
        {
            return Vector<T>.One;
        }
        if (g == T.One)
        {
            return x;
        }
        if (g == two)
        {
            return x * x;
        }
        if (g == two * two)
        {
            Vector<T> x2 = x * x;
            return x2 * x2;
        }
        // x >= 0 here; log(0) = -inf gives exp(-inf) = 0 for g > 0.
        return Exp(gv * Log(x));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Exp<T>(Vector<T> v)
        where T : unmanaged, IFloatingPointIeee754<T>
        => typeof(T) == typeof(float)
            ? Vector.Exp(v.As<T, float>()).As<float, T>()
            : Vector.Exp(v.As<T, double>()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Log<T>(Vector<T> v)
        where T : unmanaged, IFloatingPointIeee754<T>
        => typeof(T) == typeof(float)
            ? Vector.Log(v.As<T, float>()).As<float, T>()
            : Vector.Log(v.As<T, double>()).As<double, T>();

    /// <summary>The number of set lanes of a comparison mask (each set lane is -1 as an integer).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long CountSet<T>(Vector<T> mask)
        where T : unmanaged, IFloatingPointIeee754<T>
        => typeof(T) == typeof(float) ? -Vector.Sum(mask.As<T, int>()) : -Vector.Sum(mask.As<T, long>());

    /// <summary>The lanes of <paramref name="v"/> as doubles, folded into one vector of doubles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> Widen<T>(Vector<T> v)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            return v.As<T, double>();
        }
        Vector.Widen(v.As<T, float>(), out Vector<double> low, out Vector<double> high);
        return low + high;
    }
}

using System.Numerics;

namespace Miil.ML.TorchSharp.Losses;

/// <summary>
/// The multi-label ASL, element by element, with its derivative d loss / d logit, in one pass over
/// CPU memory. Composing the formula from tensor operations costs about four times binary
/// cross-entropy (a dozen element-wise passes forward and as many backward); this pass produces the
/// loss and the gradient together, and back-propagation is then one multiplication.
/// </summary>
/// <remarks>
/// Every step runs in the tensor's own precision in the reference's order (sigmoid, 1 - p, + clip,
/// clamp, log, pow), so that float32 saturates exactly where the reference's float32 does: for a
/// logit of 17, 1 - sigmoid is 0 in float32 and the eps clamp decides the loss, not the true 4e-8.
/// </remarks>
internal static class AsymmetricLossKernel
{
    /// <summary>Elements per parallel chunk; below two chunks the pass stays on the calling thread.</summary>
    private const int ChunkSize = 16384;

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

    /// <summary>Result of a pass: the summed loss (in double) and the number of elements that count.</summary>
    internal readonly record struct Totals(double Sum, long Counted);

    /// <summary>
    /// Writes <c>-dL/dz</c> of every element into <paramref name="gradient"/> and, when
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

        // Spans cannot enter a lambda; the callers pin the tensors' memory for the whole call.
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
        double sum = 0;
        long counted = 0;
        bool withLoss = !elementLoss.IsEmpty;
        for (int i = 0; i < logits.Length; i++)
        {
            T z = logits[i];
            T y = targets[i];
            if (!T.IsFinite(z))
            {
                throw new ArgumentException($"Logit at flat index {offset + i} is {z}; the asymmetric loss needs finite logits.", "logits");
            }
            T loss, grad;
            if (y == T.One)
            {
                (loss, grad) = Positive(z, p);
            }
            else if (y == T.Zero)
            {
                (loss, grad) = Negative(z, p);
            }
            else if (p.Ignore && y == T.NegativeOne)
            {
                gradient[i] = T.Zero;
                if (withLoss)
                {
                    elementLoss[i] = T.Zero;
                }
                continue;
            }
            else
            {
                string allowed = p.Ignore ? "-1 (ignored), 0 or 1" : "0 or 1 (set IgnoreLabel to allow -1)";
                throw new ArgumentException($"Target at flat index {offset + i} is {y}; multi-label targets must be {allowed}.", "targets");
            }
            counted++;
            gradient[i] = grad;
            if (withLoss)
            {
                elementLoss[i] = loss;
            }
            sum += double.CreateTruncating(loss);
        }
        return new Totals(sum, counted);
    }

    /// <summary>Loss and d loss / dz of a positive: -log(max(p, eps)) * (1 - p)^gamma+.</summary>
    private static (T Loss, T Grad) Positive<T>(T z, in Parameters<T> p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T prob = Sigmoid(z);
        bool inside = prob >= p.Eps;    // the clamp passes gradient where it does not bite
        T log = inside ? T.Log(prob) : p.LogEps;
        T dlog = inside ? T.One - prob : T.Zero;
        if (!p.Focusing)
        {
            return (-log, -dlog);
        }
        T w = Pow(T.One - prob, p.GammaPos);
        T dl = dlog * w;
        if (!p.Detach)
        {
            // d(1 - p)^g / dz = -g * p * (1 - p)^g: finite even where 1 - p is 0.
            dl += log * (-p.GammaPos * prob * w);
        }
        return (-(log * w), -dl);
    }

    /// <summary>Loss and d loss / dz of a negative: -log(max(p_m, eps)) * (1 - p_m)^gamma-, p_m = min(1 - p + m, 1).</summary>
    private static (T Loss, T Grad) Negative<T>(T z, in Parameters<T> p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T prob = Sigmoid(z);
        T neg = T.One - prob;
        T dneg = -(prob * neg);
        if (p.Clip > T.Zero)
        {
            neg += p.Clip;
            if (neg > T.One)
            {
                // Shifted below zero: an easy negative, no loss and no gradient.
                neg = T.One;
                dneg = T.Zero;
            }
        }
        bool inside = neg >= p.Eps;
        T log = inside ? T.Log(neg) : p.LogEps;
        T dlog = inside ? dneg / neg : T.Zero;
        if (!p.Focusing)
        {
            return (-log, -dlog);
        }
        T b = T.One - neg;
        T w = Pow(b, p.GammaNeg);
        T dl = dlog * w;
        if (!p.Detach && dneg != T.Zero)
        {
            // d b^g / dz = g * b^(g-1) * (-dneg); b > 0 whenever dneg != 0 except at p == m exactly.
            T dw = b > T.Zero ? p.GammaNeg * w / b * -dneg : (p.GammaNeg == T.One ? -dneg : T.Zero);
            dl += log * dw;
        }
        return (-(log * w), -dl);
    }

    private static T Sigmoid<T>(T z)
        where T : unmanaged, IFloatingPointIeee754<T>
        => T.One / (T.One + T.Exp(-z));

    /// <summary>x^g with pow(0, 0) = 1, as torch.pow; small integer exponents by multiplication.</summary>
    private static T Pow<T>(T x, T g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (g == T.Zero)
        {
            return T.One;
        }
        if (g == T.One)
        {
            return x;
        }
        T two = T.CreateTruncating(2);
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
}

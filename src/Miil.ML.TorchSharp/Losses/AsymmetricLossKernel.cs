using System.Numerics;
using System.Runtime.Intrinsics;
using Miil.ML.TorchSharp.Numerics;

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
    /// <summary>
    /// Fewest elements per parallel chunk; below two chunks the pass stays on the calling thread.
    /// Larger inputs get one chunk per core: fewer hand-offs to the thread pool, whose threads then
    /// compete less with libtorch's spinning OpenMP threads on a small machine.
    /// </summary>
    private const int MinChunkSize = 32768;

    internal readonly struct Parameters<T>(AsymmetricLossOptions options, AsymmetricLossPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly AsymmetricLossPath Path = Resolve(path);
        public readonly T GammaPos = T.CreateChecked(options.GammaPos);
        public readonly T GammaNeg = T.CreateChecked(options.GammaNeg);
        public readonly T Clip = T.CreateChecked(options.Clip);
        public readonly T Eps = T.CreateChecked(options.Eps);
        public readonly T LogEps = T.Log(T.CreateChecked(options.Eps));
        public readonly bool Focusing = options.GammaNeg > 0 || options.GammaPos > 0;
        public readonly bool Detach = options.DetachFocalWeight;
        public readonly bool Ignore = options.IgnoreLabel;
    }

    /// <summary>The widest SIMD the processor runs for <see cref="AsymmetricLossPath.Auto"/>; a forced width it lacks is refused.</summary>
    private static AsymmetricLossPath Resolve(AsymmetricLossPath path) => path switch
    {
        AsymmetricLossPath.Auto when Lanes512<float>.IsAccelerated => AsymmetricLossPath.Simd512,
        AsymmetricLossPath.Auto when LanesNative<float>.IsAccelerated => AsymmetricLossPath.SimdNative,
        AsymmetricLossPath.Auto => AsymmetricLossPath.Scalar,
        AsymmetricLossPath.Simd512 when !Lanes512<float>.IsAccelerated => throw new PlatformNotSupportedException("AVX-512 is not available."),
        AsymmetricLossPath.SimdNative when !LanesNative<float>.IsAccelerated => throw new PlatformNotSupportedException("SIMD is not available."),
        AsymmetricLossPath.TensorOps => throw new ArgumentException("The tensor-operation path does not run in the kernel.", nameof(path)),
        _ => path,
    };

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
        int chunkSize = Math.Max(MinChunkSize, (n + Environment.ProcessorCount - 1) / Environment.ProcessorCount);
        int chunks = (n + chunkSize - 1) / chunkSize;
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
                    int start = c * chunkSize;
                    int length = Math.Min(chunkSize, n - start);
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
        Totals simd = default;
        int done = p.Path switch
        {
            AsymmetricLossPath.Simd512 => AsymmetricLossLanes.Run<T, Vector512<T>, Lanes512<T>>(logits, targets, gradient, elementLoss, p, offset, out simd),
            AsymmetricLossPath.SimdNative => AsymmetricLossLanes.Run<T, Vector<T>, LanesNative<T>>(logits, targets, gradient, elementLoss, p, offset, out simd),
            _ => 0,
        };
        Totals tail = ScalarRange(logits[done..], targets[done..], gradient[done..],
                                  elementLoss.IsEmpty ? Span<T>.Empty : elementLoss[done..], p, offset + done);
        return new Totals(simd.Sum + tail.Sum, simd.Counted + tail.Counted);
    }

    internal static Totals ScalarRange<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> gradient, Span<T> elementLoss,
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
    internal static (T Loss, T Grad) Element<T>(T z, bool positive, in Parameters<T> p)
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
    internal static T Pow<T>(T x, T g)
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
}

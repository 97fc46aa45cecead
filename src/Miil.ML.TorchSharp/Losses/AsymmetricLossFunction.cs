using Miil.ML.TorchSharp.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Losses;

/// <summary>
/// The multi-label ASL with its gradient attached. One pass of tensor operations, without autograd,
/// computes the loss and, together with it, d loss / d logits; the gradient is then attached through
/// <c>z . g - detach(z . g)</c>: zero in value, exactly g in back-propagation. That costs a dot
/// product forward and one multiplication backward, where autograd through the formula would record a
/// dozen element-wise operations and replay them backwards; a TorchSharp custom autograd function was
/// measured at about 1.4 ns per element for its backward bookkeeping alone, more than the loss.
/// </summary>
/// <remarks>
/// <para>Every element follows one formula. With x the probability inside the logarithm (p for a
/// positive, the shifted <c>min(1 - p + m, 1)</c> for a negative) and b = 1 - x:
/// <c>loss = -log(max(x, eps)) * b^gamma</c>, where the derivatives of log and of b^gamma follow x.
/// Every step runs in the tensor's own precision in the reference's order (sigmoid, 1 - p, + clip,
/// clamp, log, pow), so that float32 saturates exactly where the reference's float32 does: for a logit
/// of 17, 1 - sigmoid is 0 in float32 and the eps clamp decides the loss, not the true 4e-8.</para>
/// <para>A hand-written SIMD kernel of the same pass ran here until 2026-12: it saved 0.1-0.5 ms a step,
/// 0.01-0.22% of a training step on the networks measured (docs/benchmarks.md), for 1,500 lines.</para>
/// </remarks>
internal static class AsymmetricLossFunction
{
    /// <summary>Applies the loss; <paramref name="logits"/> and <paramref name="targets"/> are validated, same shape, float32 or float64.</summary>
    public static Tensor Apply(Tensor logits, Tensor targets, AsymmetricLossOptions options)
    {
        (Tensor output, Tensor gradient, long counted) = Run(logits, targets, options);

        double scale = options.Reduction switch
        {
            LossReduction.Mean => 1.0 / Math.Max(counted, 1),
            LossReduction.BatchMean => 1.0 / Math.Max(logits.shape.Length == 0 ? 1 : logits.shape[0], 1),
            _ => 1.0,
        };
        if (scale != 1.0)
        {
            using Scalar factor = scale.ToScalar();  // held across the calls (Numerics.Scalars)
            output.mul_(factor);
            gradient.mul_(factor);
        }
        if (!logits.requires_grad || !is_grad_enabled())
        {
            return output;
        }
        // x - x is exactly 0 for finite x, so the value stays the pass's to the last bit.
        // A dot product is one fused pass forward (no intermediate tensor) and one multiplication back.
        Tensor linear = options.Reduction == LossReduction.None
            ? logits * gradient
            : logits.flatten().dot(gradient.flatten());
        Tensor attached = linear - linear.detach();
        return output.add_(attached, Scalars.One);
    }

    /// <summary>
    /// The loss (a scalar tensor, or one per element without reduction), its gradient with respect to
    /// the logits, both unreduced, and the elements that count; nothing attached to a graph.
    /// </summary>
    internal static (Tensor Output, Tensor Gradient, long Counted) Run(Tensor z, Tensor y, AsymmetricLossOptions o)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Validate(z, y, o);

        // Every constant is a held Scalar and every operator tensor-tensor: no temporary Scalar can be
        // collected mid-call (Numerics.Scalars). "c - t" is written t.neg().add_(c, 1).
        using var s = new HeldScalars();
        Scalar one = s[1], zero = s[0];
        Tensor positive = y.eq(one);
        Tensor p = z.sigmoid();
        Tensor oneMinusP = p.neg().add_(one, one);
        // The negatives' probability, shifted by the clip (the easy ones, shifted past 1, get no gradient), and its derivative.
        Tensor neg = oneMinusP;
        Tensor dneg = p.mul(neg).neg();
        if (o.Clip > 0)
        {
            neg = neg.add(s[o.Clip], one);
            Tensor easy = neg.gt(one);
            neg = neg.clamp_max(one);
            dneg = dneg.masked_fill(easy, zero);
        }
        // x, the probability inside the logarithm, is chosen first: one log and one weight per element, not one of each per branch.
        Tensor x = where(positive, p, neg);
        Tensor outside = x.ge(s[o.Eps]).logical_not();
        Tensor logX = x.log().masked_fill_(outside, s[Math.Log(o.Eps)]);
        Tensor dLog = where(positive, oneMinusP, dneg.div(neg)).masked_fill_(outside, zero);

        Tensor loss = logX, grad = dLog;
        if (o.GammaNeg > 0 || o.GammaPos > 0)
        {
            // b = 1 - x: 1 - p for a positive, 1 - the shifted probability for a negative.
            Tensor b = x.neg().add_(one, one);
            Tensor w = where(positive, b.pow(s[o.GammaPos]), b.pow(s[o.GammaNeg]));
            loss = logX.mul(w);
            grad = dLog.mul(w);
            if (!o.DetachFocalWeight)
            {
                // The weight's own derivative times the log: -gamma+ p w for a positive; for a negative,
                // gamma- w / b times -dneg, or -dneg at b = 0 when gamma- is 1 (else 0), and 0 where dneg is.
                Tensor positiveTerm = logX.mul(s[-o.GammaPos]).mul(p).mul(w);
                Tensor dw = where(b.gt(zero), w.mul(s[o.GammaNeg]).div(b).mul(dneg.neg()),
                                  o.GammaNeg == 1 ? dneg.neg() : zeros_like(dneg));
                Tensor negativeTerm = logX.mul(dw.masked_fill(dneg.eq(zero), zero));
                grad = grad.add(where(positive, positiveTerm, negativeTerm), one);
            }
        }
        loss = loss.neg_();
        grad = grad.neg_();
        long counted = y.numel();
        if (o.IgnoreLabel)
        {
            Tensor ignored = y.eq(s[-1]);
            loss = loss.masked_fill(ignored, zero);
            grad = grad.masked_fill(ignored, zero);
            counted -= ignored.sum().item<long>();
        }
        Tensor output = o.Reduction == LossReduction.None ? loss : loss.sum();
        return (output.MoveToOuterDisposeScope(), grad.MoveToOuterDisposeScope(), counted);
    }

    private static void Validate(Tensor z, Tensor y, AsymmetricLossOptions o)
    {
        if (!z.isfinite().all().item<bool>())
        {
            long index = z.isfinite().logical_not().flatten().nonzero()[0, 0].item<long>();
            throw new ArgumentException($"Logit at flat index {index} is not finite; the asymmetric loss needs finite logits.", "logits");
        }
        using var s = new HeldScalars();
        Tensor allowed = y.eq(s[0]).logical_or(y.eq(s[1]));
        if (o.IgnoreLabel)
        {
            allowed = allowed.logical_or(y.eq(s[-1]));
        }
        if (!allowed.all().item<bool>())
        {
            long index = allowed.logical_not().flatten().nonzero()[0, 0].item<long>();
            double value = y.flatten()[index].to(ScalarType.Float64).item<double>();
            string expected = o.IgnoreLabel ? "-1 (ignored), 0 or 1" : "0 or 1 (set IgnoreLabel to allow -1)";
            throw new ArgumentException($"Target at flat index {index} is {value}; multi-label targets must be {expected}.", "targets");
        }
    }
}

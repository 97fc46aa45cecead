using TorchSharp;
using Miil.ML.TorchSharp.Numerics;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Losses;

/// <summary>
/// The formulas of <see cref="AsymmetricLossKernel"/> as tensor operations, for devices whose memory
/// the CPU cannot read (CUDA). Runs without autograd: it returns the gradient itself.
/// </summary>
internal static class AsymmetricLossTensorPath
{
    public static (Tensor Output, Tensor Gradient, long Counted) Run(Tensor z, Tensor y, AsymmetricLossOptions o)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Validate(z, y, o);

        // Every constant is a held Scalar and every operator tensor-tensor: no temporary Scalar can be
        // collected mid-call (Numerics.Scalars). "c - t" is written t.neg().add_(c, 1).
        using var s = new HeldScalars();
        Scalar one = s[1], zero = s[0];
        Tensor p = z.sigmoid();
        Tensor oneMinusP = p.neg().add_(one, one);
        Tensor posOutside = p.ge(s[o.Eps]).logical_not();
        Tensor posLog = p.log().masked_fill(posOutside, s[Math.Log(o.Eps)]);
        Tensor posDlog = oneMinusP.masked_fill(posOutside, zero);

        Tensor neg = oneMinusP;
        Tensor dneg = p.mul(neg).neg();
        if (o.Clip > 0)
        {
            neg = neg.add(s[o.Clip], one);
            Tensor easy = neg.gt(one);
            neg = neg.clamp_max(one);
            dneg = dneg.masked_fill(easy, zero);
        }
        Tensor negOutside = neg.ge(s[o.Eps]).logical_not();
        Tensor negLog = neg.log().masked_fill(negOutside, s[Math.Log(o.Eps)]);
        Tensor negDlog = dneg.div(neg).masked_fill(negOutside, zero);

        Tensor posLoss = posLog, posGrad = posDlog, negLoss = negLog, negGrad = negDlog;
        if (o.GammaNeg > 0 || o.GammaPos > 0)
        {
            Tensor posW = oneMinusP.pow(s[o.GammaPos]);
            Tensor negBase = neg.neg().add_(one, one);
            Tensor negW = negBase.pow(s[o.GammaNeg]);
            posLoss = posLog.mul(posW);
            negLoss = negLog.mul(negW);
            posGrad = posDlog.mul(posW);
            negGrad = negDlog.mul(negW);
            if (!o.DetachFocalWeight)
            {
                posGrad = posGrad.add(posLog.mul(s[-o.GammaPos]).mul(p).mul(posW), one);
                Tensor dw = where(negBase.gt(zero), negW.mul(s[o.GammaNeg]).div(negBase).mul(dneg.neg()),
                                  o.GammaNeg == 1 ? dneg.neg() : zeros_like(dneg));
                negGrad = negGrad.add(negLog.mul(dw.masked_fill(dneg.eq(zero), zero)), one);
            }
        }

        Tensor positive = y.eq(one);
        Tensor loss = where(positive, posLoss, negLoss).neg_();
        Tensor grad = where(positive, posGrad, negGrad).neg_();
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
            double value = y.flatten()[index].item<double>();
            string expected = o.IgnoreLabel ? "-1 (ignored), 0 or 1" : "0 or 1 (set IgnoreLabel to allow -1)";
            throw new ArgumentException($"Target at flat index {index} is {value}; multi-label targets must be {expected}.", "targets");
        }
    }
}

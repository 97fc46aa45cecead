using TorchSharp;
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

        double logEps = Math.Log(o.Eps);
        Tensor p = z.sigmoid();
        Tensor posInside = p.ge(o.Eps);
        Tensor posLog = where(posInside, p.log(), logEps);
        Tensor posDlog = where(posInside, 1 - p, 0.0);

        Tensor neg = 1 - p;
        Tensor dneg = (p * neg).neg();
        if (o.Clip > 0)
        {
            neg = neg + o.Clip;
            Tensor easy = neg.gt(1.0);
            neg = neg.clamp_max(1.0);
            dneg = where(easy, 0.0, dneg);
        }
        Tensor negInside = neg.ge(o.Eps);
        Tensor negLog = where(negInside, neg.log(), logEps);
        Tensor negDlog = where(negInside, dneg / neg, 0.0);

        Tensor posLoss = posLog, posGrad = posDlog, negLoss = negLog, negGrad = negDlog;
        if (o.GammaNeg > 0 || o.GammaPos > 0)
        {
            Tensor posW = (1 - p).pow(o.GammaPos);
            Tensor negBase = 1 - neg;
            Tensor negW = negBase.pow(o.GammaNeg);
            posLoss = posLog * posW;
            negLoss = negLog * negW;
            posGrad = posDlog * posW;
            negGrad = negDlog * negW;
            if (!o.DetachFocalWeight)
            {
                posGrad = posGrad + posLog * (-o.GammaPos) * p * posW;
                Tensor dw = where(negBase.gt(0.0), o.GammaNeg * negW / negBase * dneg.neg(),
                                  o.GammaNeg == 1 ? dneg.neg() : zeros_like(dneg));
                negGrad = negGrad + negLog * where(dneg.eq(0.0), 0.0, dw);
            }
        }

        Tensor positive = y.eq(1.0);
        Tensor loss = where(positive, posLoss, negLoss).neg_();
        Tensor grad = where(positive, posGrad, negGrad).neg_();
        long counted = y.numel();
        if (o.IgnoreLabel)
        {
            Tensor ignored = y.eq(-1.0);
            loss = loss.masked_fill(ignored, 0.0);
            grad = grad.masked_fill(ignored, 0.0);
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
        Tensor allowed = y.eq(0.0).logical_or(y.eq(1.0));
        if (o.IgnoreLabel)
        {
            allowed = allowed.logical_or(y.eq(-1.0));
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

using Miil.ML.TorchSharp.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Losses;

/// <summary>
/// Single-label (softmax) variant of the Asymmetric Loss, as the reference <c>ASLSingleLabel</c>:
/// log-softmax, a focusing weight <c>(1 - p)^GammaPos</c> on the target class and
/// <c>p^GammaNeg</c> on the others (gradients flow through the weight), optional label smoothing.
/// </summary>
/// <remarks>
/// Forward takes logits N x C and integer class indices N. Half-precision logits are promoted to
/// float32, as in <see cref="AsymmetricLoss"/>.
/// </remarks>
public sealed class AsymmetricLossSingleLabel : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates the loss with the given options (default: the reference class's defaults).</summary>
    public AsymmetricLossSingleLabel(AsymmetricLossSingleLabelOptions? options = null)
        : base(nameof(AsymmetricLossSingleLabel))
    {
        Options = (options ?? new AsymmetricLossSingleLabelOptions()) with { };
        Options.Validate();
    }

    /// <summary>The options this loss was created with.</summary>
    public AsymmetricLossSingleLabelOptions Options { get; }

    /// <summary>Computes the loss of <paramref name="logits"/> (N x C) against class indices <paramref name="targets"/> (N).</summary>
    /// <exception cref="ArgumentException">Shapes do not fit, logits are not floating point or not finite, or a class index is out of range.</exception>
    public override Tensor forward(Tensor logits, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        if (logits.dim() != 2)
        {
            throw new ArgumentException($"Logits must be N x C; got shape [{string.Join(", ", logits.shape)}].", nameof(logits));
        }
        if (targets.dim() != 1 || targets.shape[0] != logits.shape[0])
        {
            throw new ArgumentException(
                $"Targets must be a vector of {logits.shape[0]} class indices; got shape [{string.Join(", ", targets.shape)}].", nameof(targets));
        }
        if (!logits.is_floating_point())
        {
            throw new ArgumentException($"Logits must be floating point; got {logits.dtype}.", nameof(logits));
        }
        long classes = logits.shape[1];
        using var scope = NewDisposeScope();
        Tensor z = logits.dtype is ScalarType.Float32 or ScalarType.Float64 ? logits : logits.to(ScalarType.Float32);
        ValidateInputs(z, targets, classes);

        Tensor oneHot = nn.functional.one_hot(targets.to(ScalarType.Int64, z.device), classes).to(z.dtype);
        Tensor logP = nn.functional.log_softmax(z, 1);
        Tensor p = logP.exp();
        // The reference writes the weight as pow(1 - p*t - (1 - p)*(1 - t), gamma): 1 - p on the
        // target, p elsewhere; its gradient flows through p. Constants are held Scalars and "c - t"
        // is t.neg().add_(c, 1), so no temporary Scalar can be collected mid-call (Numerics.Scalars).
        using var s = new HeldScalars();
        Scalar one = s[1];
        Tensor offTarget = oneHot.neg().add_(one, one);
        Tensor oneMinusP = p.neg().add_(one, one);
        Tensor basis = p.mul(oneHot).neg().add_(one, one).sub(oneMinusP.mul(offTarget));
        Tensor gamma = oneHot.mul(s[Options.GammaPos]).add(offTarget.mul(s[Options.GammaNeg]), one);
        Tensor weighted = logP.mul(basis.pow(gamma));
        Tensor target = Options.LabelSmoothing > 0
            ? oneHot.mul(s[1 - Options.LabelSmoothing]).add_(s[Options.LabelSmoothing / classes], one)
            : oneHot;
        Tensor perSample = target.mul(weighted).neg().sum(1);
        Tensor result = Options.Reduction switch
        {
            LossReduction.Sum => perSample.sum(),
            LossReduction.None => perSample,
            _ => perSample.mean(),
        };
        return result.MoveToOuterDisposeScope();
    }

    private static void ValidateInputs(Tensor z, Tensor targets, long classes)
    {
        if (!z.isfinite().all().item<bool>())
        {
            throw new ArgumentException("Logits contain NaN or infinite values.", "logits");
        }
        if (targets.is_floating_point() && !targets.eq(targets.round()).all().item<bool>())
        {
            throw new ArgumentException("Targets must be integer class indices; got fractional values.", nameof(targets));
        }
        if (targets.numel() > 0)
        {
            using Tensor asDouble = targets.to(ScalarType.Float64);
            double min = asDouble.min().item<double>(), max = asDouble.max().item<double>();
            if (min < 0 || max >= classes)
            {
                throw new ArgumentException(
                    $"Targets must be class indices in [0, {classes - 1}]; got values from {min} to {max}.", nameof(targets));
            }
        }
    }
}

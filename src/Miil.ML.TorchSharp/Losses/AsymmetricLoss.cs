using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Losses;

/// <summary>
/// Asymmetric Loss for multi-label classification (Ridnik et al., "Asymmetric Loss For Multi-Label
/// Classification", ICCV 2021): binary cross-entropy per class with asymmetric focusing
/// (<see cref="AsymmetricLossOptions.GammaNeg"/>, <see cref="AsymmetricLossOptions.GammaPos"/>) and a
/// probability shift on negatives (<see cref="AsymmetricLossOptions.Clip"/>).
/// </summary>
/// <remarks>
/// <para>Forward takes logits (any shape, usually batch x classes) and targets of the same shape
/// holding 0 or 1 (and -1 with <see cref="AsymmetricLossOptions.IgnoreLabel"/>), of any numeric type.
/// Half-precision logits (float16, bfloat16) are promoted to float32 and the loss is computed and
/// returned in float32: the 1e-8 clamp underflows in half precision. Other logits keep their type
/// (float32 or float64); integer logits are rejected.</para>
/// <para>One module covers both reference classes: <c>AsymmetricLoss</c> (focusing weight detached)
/// and <c>AsymmetricLossOptimized</c> (weight attached), through
/// <see cref="AsymmetricLossOptions.DetachFocalWeight"/>.</para>
/// </remarks>
public sealed class AsymmetricLoss : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates the loss with the given options (default: the reference COCO recipe).</summary>
    public AsymmetricLoss(AsymmetricLossOptions? options = null)
        : base(nameof(AsymmetricLoss))
    {
        // A copy: the options are settable, and the module must not change under its user.
        Options = (options ?? new AsymmetricLossOptions()) with { };
        Options.Validate();
    }

    /// <summary>The options this loss was created with.</summary>
    public AsymmetricLossOptions Options { get; }

    /// <summary>Computes the loss of <paramref name="logits"/> against <paramref name="targets"/>.</summary>
    /// <exception cref="ArgumentException">Shapes differ, logits are not floating point or not finite, or a target is not allowed.</exception>
    public override Tensor forward(Tensor logits, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        if (!logits.shape.SequenceEqual(targets.shape))
        {
            throw new ArgumentException(
                $"Targets have shape [{string.Join(", ", targets.shape)}] but logits have shape [{string.Join(", ", logits.shape)}]; they must match.",
                nameof(targets));
        }
        if (!logits.is_floating_point())
        {
            throw new ArgumentException($"Logits must be floating point; got {logits.dtype}.", nameof(logits));
        }
        using var scope = NewDisposeScope();
        Tensor z = logits.dtype is ScalarType.Float32 or ScalarType.Float64 ? logits : logits.to(ScalarType.Float32);
        Tensor y = targets.to(z.dtype, z.device);
        return AsymmetricLossFunction.Apply(z, y, Options).MoveToOuterDisposeScope();
    }
}

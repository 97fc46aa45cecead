using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Losses;

/// <summary>
/// Autograd node of the multi-label ASL. Forward computes the loss and, in the same pass, d loss /
/// d logits; backward is one multiplication by the incoming gradient. On CPU the pass is
/// <see cref="AsymmetricLossKernel"/>; elsewhere (CUDA) the same formulas run as tensor operations.
/// </summary>
internal sealed class AsymmetricLossFunction : autograd.SingleTensorFunction<AsymmetricLossFunction>
{
    public override string Name => nameof(AsymmetricLossFunction);

    /// <summary>Applies the loss; <paramref name="logits"/> and <paramref name="targets"/> are validated, same shape, float32 or float64.</summary>
    public static Tensor Apply(Tensor logits, Tensor targets, AsymmetricLossOptions options, bool forceTensorPath = false)
        => apply(logits, targets, options, forceTensorPath);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var logits = (Tensor)vars[0];
        var targets = (Tensor)vars[1];
        var options = (AsymmetricLossOptions)vars[2];
        bool forceTensorPath = (bool)vars[3];

        (Tensor output, Tensor gradient, long counted) = logits.device_type == DeviceType.CPU && !forceTensorPath
            ? logits.dtype == ScalarType.Float64 ? RunKernel<double>(logits, targets, options) : RunKernel<float>(logits, targets, options)
            : AsymmetricLossTensorPath.Run(logits, targets, options);

        double scale = options.Reduction switch
        {
            LossReduction.Mean => 1.0 / Math.Max(counted, 1),
            LossReduction.BatchMean => 1.0 / Math.Max(logits.shape.Length == 0 ? 1 : logits.shape[0], 1),
            _ => 1.0,
        };
        if (scale != 1.0)
        {
            output.mul_(scale);
            gradient.mul_(scale);
        }
        ctx.save_for_backward([gradient]);
        return output;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        Tensor gradient = ctx.get_saved_variables()[0];
        return [gradient.mul(grad_output), null!, null!, null!];
    }

    private static (Tensor Output, Tensor Gradient, long Counted) RunKernel<T>(Tensor logits, Tensor targets, AsymmetricLossOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using Tensor z = logits.contiguous();
        using Tensor y = targets.contiguous();
        Tensor gradient = empty_like(z);
        bool elementwise = options.Reduction == LossReduction.None;
        Tensor? elementLoss = elementwise ? empty_like(z) : null;
        var parameters = new AsymmetricLossKernel.Parameters<T>(options);
        AsymmetricLossKernel.Totals totals = AsymmetricLossKernel.Run(
            MemoryMarshal.Cast<byte, T>(z.bytes),
            MemoryMarshal.Cast<byte, T>(y.bytes),
            MemoryMarshal.Cast<byte, T>(gradient.bytes),
            elementLoss is null ? Span<T>.Empty : MemoryMarshal.Cast<byte, T>(elementLoss.bytes),
            parameters);
        Tensor output = elementLoss ?? tensor(totals.Sum, dtype: logits.dtype);
        return (output, gradient, totals.Counted);
    }
}

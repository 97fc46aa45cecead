using Miil.ML.TorchSharp.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// TResNet's BasicBlock (stages 1 and 2): 3x3 conv-norm-LeakyReLU (anti-aliased when stride 2),
/// 3x3 conv-norm, squeeze-excite, residual add, ReLU.
/// </summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 1;

    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly nn.Module<Tensor, Tensor>? downsample;
    private readonly nn.Module<Tensor, Tensor>? se;

    public BasicBlock(long inPlanes, long planes, int stride, nn.Module<Tensor, Tensor>? downsample, bool useSe)
        : base(nameof(BasicBlock))
    {
        conv1 = ConvNormAct.Create(inPlanes, planes, 3, ConvNormAct.BlockSlope, stride);
        conv2 = ConvNormAct.Create(planes, planes, 3, leakySlope: null);
        this.downsample = downsample;
        se = useSe ? new SqueezeExcite(planes * Expansion, Math.Max(planes * Expansion / 4, 64)) : null;

        // The reference's registration order, which is the state dict's order.
        register_module(nameof(conv1), conv1);
        register_module(nameof(conv2), conv2);
        if (downsample is not null)
        {
            register_module(nameof(downsample), downsample);
        }
        if (se is not null)
        {
            register_module(nameof(se), se);
        }
    }

    /// <summary>The norm that ends the residual branch (zero-initialised).</summary>
    internal BatchNormAct2d LastNorm => ConvNormAct.NormOf(conv2);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor residual = downsample is null ? x : downsample.forward(x);
        Tensor y = conv2.forward(conv1.forward(x));
        if (se is not null)
        {
            y = se.forward(y);
        }
        return nn.functional.relu(y.add(residual, Scalars.One)).MoveToOuterDisposeScope();
    }
}

using Miil.ML.TorchSharp.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// TResNet's Bottleneck (stages 3 and 4): 1x1 conv-norm-LeakyReLU to the narrow width, 3x3
/// conv-norm-LeakyReLU (anti-aliased when stride 2), squeeze-excite on the narrow width, 1x1
/// conv-norm to 4x the width, residual add, ReLU.
/// </summary>
internal sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 4;

    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly nn.Module<Tensor, Tensor> conv3;
    private readonly nn.Module<Tensor, Tensor>? downsample;
    private readonly nn.Module<Tensor, Tensor>? se;

    public Bottleneck(long inPlanes, long planes, int stride, nn.Module<Tensor, Tensor>? downsample, bool useSe)
        : base(nameof(Bottleneck))
    {
        conv1 = ConvNormAct.Create(inPlanes, planes, 1, ConvNormAct.BlockSlope);
        conv2 = ConvNormAct.Create(planes, planes, 3, ConvNormAct.BlockSlope, stride);
        conv3 = ConvNormAct.Create(planes, planes * Expansion, 1, leakySlope: null);
        this.downsample = downsample;
        se = useSe ? new SqueezeExcite(planes, Math.Max(planes * Expansion / 8, 64)) : null;

        register_module(nameof(conv1), conv1);
        register_module(nameof(conv2), conv2);
        register_module(nameof(conv3), conv3);
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
    internal BatchNormAct2d LastNorm => ConvNormAct.NormOf(conv3);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor residual = downsample is null ? x : downsample.forward(x);
        Tensor y = conv2.forward(conv1.forward(x));
        if (se is not null)
        {
            y = se.forward(y);
        }
        y = conv3.forward(y);
        return nn.functional.relu(y.add(residual, Scalars.One)).MoveToOuterDisposeScope();
    }
}

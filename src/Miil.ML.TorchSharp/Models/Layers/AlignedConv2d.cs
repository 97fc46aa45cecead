using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Layers;

/// <summary>
/// A square convolution without bias (PyTorch's <c>nn.Conv2d(..., bias=False)</c>, key <c>weight</c>)
/// whose channels are zero-padded to a multiple of <see cref="Block"/> when it runs, where libtorch's
/// kernel would otherwise pad them itself and get it wrong. Every dense convolution of the networks'
/// bodies is one; the squeeze-excite 1x1 convolutions stay TorchSharp's.
/// </summary>
/// <remarks>
/// libtorch 2.10 (TorchSharp 0.107) runs a batched dense convolution with a kernel wider than 1x1 through
/// oneDNN's direct kernel (<c>jit:avx512_core</c>, float32 and bfloat16), which works on blocks of 16
/// channels. When a channel count is not a multiple of 16 it uses a padded layout, and on this project's
/// AMD EPYC (Zen 5) host that layout gives wrong results: the output when the input channels are not a
/// multiple of 16 (relative error 0.16 to 0.5, or NaN), the input gradient when the output channels are
/// not, and in bfloat16 the output then too (docs/benchmarks.md, "Convolutions with unaligned channels").
/// Whole families have such widths: TResNet-L's first stages have 76 and 152 channels, and any custom
/// width or base width may. Padding the weight and the input with zero channels gives the kernel aligned
/// blocks and changes nothing in the arithmetic (the added terms are exact zeros); the output is cut back
/// to the real channels. It costs the extra channels' work (76 to 80: 5%) and one copy of the input.
/// <para>
/// Left as they are: 1x1 convolutions, whose kernels are right at any width (so are the depthwise blur's
/// in float32); an image's 1 to 3 input channels, which oneDNN reads in their plain layout ("first
/// convolution"), so a stem on the image pays for its output channels at most.
/// </para>
/// </remarks>
internal sealed class AlignedConv2d : nn.Module<Tensor, Tensor>
{
    /// <summary>oneDNN's channel block on AVX-512 (a multiple of AVX2's 8).</summary>
    public const int Block = 16;

    /// <summary>Input channels at or below this take oneDNN's first-convolution kernel (plain layout, no padding).</summary>
    private const long ImageChannels = 3;

    private readonly Parameter weight;

    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Square kernel side.</param>
    /// <param name="stride">Stride in both directions.</param>
    /// <param name="padding">Zero padding on every side (k / 2 keeps the size at stride 1).</param>
    public AlignedConv2d(long inChannels, long outChannels, long kernelSize, long stride, long padding)
        : base(nameof(AlignedConv2d))
    {
        Stride = stride;
        Padding = padding;
        weight = new Parameter(empty(outChannels, inChannels, kernelSize, kernelSize));
        register_parameter(nameof(weight), weight);
        // PyTorch's default (kaiming-uniform with a = sqrt(5)); the networks initialise their own way.
        nn.init.kaiming_uniform_(weight, Math.Sqrt(5));
    }

    /// <summary>Weight, out x in x k x k.</summary>
    public Parameter Weight => weight;

    public long Stride { get; }

    public long Padding { get; }

    public override Tensor forward(Tensor x) => Apply(x, weight, Stride, Padding);

    /// <summary>The convolution of <paramref name="x"/> by <paramref name="weight"/> (no bias, no groups), with its channels aligned where that matters.</summary>
    public static Tensor Apply(Tensor x, Tensor weight, long stride, long padding)
    {
        long outChannels = weight.shape[0], inChannels = weight.shape[1];
        bool wide = weight.shape[2] > 1 || weight.shape[3] > 1;
        long padIn = wide && inChannels > ImageChannels ? Pad(inChannels) : 0;
        long padOut = wide ? Pad(outChannels) : 0;
        if (padIn == 0 && padOut == 0)
        {
            return nn.functional.conv2d(x, weight, strides: [stride, stride], padding: [padding, padding]);
        }
        using var scope = NewDisposeScope();
        // F.pad lists dimensions from the last: (kw, kh, in, out) for the weight, (w, h, channels) for the input.
        Tensor paddedWeight = nn.functional.pad(weight, [0, 0, 0, 0, 0, padIn, 0, padOut]);
        Tensor paddedInput = padIn > 0 ? nn.functional.pad(x, [0, 0, 0, 0, 0, padIn]) : x;
        Tensor y = nn.functional.conv2d(paddedInput, paddedWeight, strides: [stride, stride], padding: [padding, padding]);
        return (padOut > 0 ? y.narrow(1, 0, outChannels).contiguous() : y).MoveToOuterDisposeScope();
    }

    /// <summary>Channels to add to reach the next multiple of <see cref="Block"/>.</summary>
    private static long Pad(long channels) => (Block - channels % Block) % Block;
}

using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// Squeeze-and-excitation: spatial mean, 1x1 convolution to the reduced width, ReLU, 1x1 convolution
/// back, sigmoid, channel-wise scale (the reference's <c>SEModule</c>; keys <c>fc1</c>, <c>fc2</c>).
/// </summary>
internal sealed class SqueezeExcite : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> fc1;
    private readonly nn.Module<Tensor, Tensor> fc2;

    public SqueezeExcite(long channels, long reducedChannels)
        : base(nameof(SqueezeExcite))
    {
        fc1 = nn.Conv2d(channels, reducedChannels, kernel_size: 1, bias: true);
        fc2 = nn.Conv2d(reducedChannels, channels, kernel_size: 1, bias: true);
        register_module(nameof(fc1), fc1);
        register_module(nameof(fc2), fc2);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor squeezed = x.mean([2, 3], keepdim: true);
        Tensor weights = fc2.forward(nn.functional.relu(fc1.forward(squeezed))).sigmoid();
        return (x * weights).MoveToOuterDisposeScope();
    }
}

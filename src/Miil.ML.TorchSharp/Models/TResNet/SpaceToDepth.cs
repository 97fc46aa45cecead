using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// TResNet's stem: rearranges each 4x4 block of pixels into channels, (N, C, H, W) to
/// (N, 16C, H/4, W/4), with the reference's channel order
/// <c>view(N, C, H/4, 4, W/4, 4).permute(0, 3, 5, 1, 2, 4)</c>: the block offset varies slowest, the
/// input channel fastest. That is ONNX SpaceToDepth's order, not <c>pixel_unshuffle</c>'s.
/// </summary>
internal sealed class SpaceToDepth : nn.Module<Tensor, Tensor>
{
    public const int BlockSize = 4;

    public SpaceToDepth()
        : base(nameof(SpaceToDepth))
    {
    }

    public override Tensor forward(Tensor x)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        return x.view(n, c, h / BlockSize, BlockSize, w / BlockSize, BlockSize)
            .permute(0, 3, 5, 1, 2, 4)
            .reshape(n, c * BlockSize * BlockSize, h / BlockSize, w / BlockSize);
    }
}

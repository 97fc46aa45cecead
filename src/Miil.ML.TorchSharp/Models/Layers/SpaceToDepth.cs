using Miil.ML.Onnx.Graphs;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Layers;

/// <summary>
/// Rearranges each block x block square of pixels into channels, (N, C, H, W) to
/// (N, block^2 C, H/block, W/block), with the TResNet reference's channel order
/// <c>view(N, C, H/4, 4, W/4, 4).permute(0, 3, 5, 1, 2, 4)</c>: the block offset varies slowest, the
/// input channel fastest. That is ONNX SpaceToDepth's order, not <c>pixel_unshuffle</c>'s.
/// </summary>
internal sealed class SpaceToDepth : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    public SpaceToDepth(int blockSize = 4)
        : base(nameof(SpaceToDepth))
    {
        BlockSize = blockSize;
    }

    public int BlockSize { get; }

    public override Tensor forward(Tensor x)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        return x.view(n, c, h / BlockSize, BlockSize, w / BlockSize, BlockSize)
            .permute(0, 3, 5, 1, 2, 4)
            .reshape(n, c * BlockSize * BlockSize, h / BlockSize, w / BlockSize);
    }

    public string ToOnnx(OnnxGraphBuilder graph, string input)
        => graph.Node("SpaceToDepth", "space_to_depth", [input], OnnxGraphBuilder.Int("blocksize", BlockSize));
}

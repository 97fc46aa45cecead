using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.ResNet;

/// <summary>
/// The per-pixel mean image CNTK's ImageNet models subtract from their 0-255 BGR input (ML.NET's
/// <c>ResNetPreprocess.onnx</c>): a buffer <c>mean</c> of 1 x 3 x H x W, resized bilinearly when the input
/// has another size, so the network fine-tunes at any side.
/// </summary>
internal sealed class MeanImage : nn.Module<Tensor, Tensor>
{
    private readonly Tensor mean;

    public MeanImage(Tensor image)
        : base(nameof(MeanImage))
    {
        mean = image.detach().clone();
        register_buffer(nameof(mean), mean);
    }

    public override Tensor forward(Tensor x) => x - At(x.shape[2], x.shape[3]).to(x.dtype);

    /// <summary>The mean at H x W: itself, or resized bilinearly (half-pixel centres).</summary>
    private Tensor At(long height, long width)
        => mean.shape[2] == height && mean.shape[3] == width ? mean : nn.functional.interpolate(mean, [height, width], mode: InterpolationMode.Bilinear, align_corners: false);

    /// <summary>Export at a fixed side: the mean at that side is a constant of the graph.</summary>
    public string ToOnnx(OnnxGraphBuilder graph, string input, int size)
    {
        using Tensor resized = At(size, size);
        return graph.Node("Sub", "mean_image", [input, OnnxTensors.Initializer(graph, "mean_image", resized)]);
    }
}

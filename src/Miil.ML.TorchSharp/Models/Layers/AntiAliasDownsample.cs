using Miil.ML.Onnx.Graphs;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Layers;

/// <summary>
/// Anti-aliased stride-2 downsampling (blur pool): reflect padding of 1, then a fixed depthwise 3x3
/// binomial filter outer([1, 2, 1], [1, 2, 1]) / 16 at stride 2. The filter is a constant of the
/// architecture, held as a non-persistent buffer: it moves with the module but is not in the state
/// dict, as in the reference.
/// </summary>
internal sealed class AntiAliasDownsample : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Tensor filter;

    public AntiAliasDownsample(long channels)
        : base(nameof(AntiAliasDownsample))
    {
        Channels = channels;
        using Tensor a = tensor(new float[] { 1, 2, 1 });
        using Tensor outer = a.unsqueeze(1) * a.unsqueeze(0);
        filter = (outer / outer.sum()).expand(channels, 1, 3, 3).contiguous();
        register_buffer(nameof(filter), filter, persistent: false);
    }

    public long Channels { get; }

    public override Tensor forward(Tensor x)
    {
        using Tensor padded = nn.functional.pad(x, [1, 1, 1, 1], PaddingModes.Reflect);
        Tensor kernel = filter.dtype == x.dtype ? filter : filter.to(x.dtype);
        return nn.functional.conv2d(padded, kernel, strides: [2, 2], groups: Channels);
    }

    public string ToOnnx(OnnxGraphBuilder graph, string input)
    {
        string padded = graph.Node("Pad", "aa_pad", [input, graph.Int64Initializer("aa_pads", 0, 0, 1, 1, 0, 0, 1, 1)], OnnxGraphBuilder.String("mode", "reflect"));
        return graph.Node("Conv", "aa", [padded, OnnxTensors.Initializer(graph, "aa.filter", filter)],
            OnnxGraphBuilder.Ints("kernel_shape", 3, 3), OnnxGraphBuilder.Ints("strides", 2, 2), OnnxGraphBuilder.Int("group", Channels));
    }
}

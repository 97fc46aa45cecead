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
/// <remarks>
/// In bfloat16 or float16 the blur runs in float32: oneDNN's strided depthwise backward-data kernel for
/// bfloat16 (<c>brgconv_strided:avx512_core_bf16</c>, libtorch 2.10) returns input gradients that are
/// simply wrong on an AMD EPYC with AVX512_BF16 (cosine 0.25-0.31 against float64, every shape tried),
/// which broke the gradient of every layer before each stride-2 stage. Its stride-1 twin and every other
/// op of the network are right there, and the filter's taps (1/16, 2/16, 4/16) are exact in any precision,
/// so float32 here costs two casts of one activation and changes nothing else.
/// </remarks>
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
        if (x.dtype is ScalarType.BFloat16 or ScalarType.Float16)
        {
            using Tensor wide = x.to(ScalarType.Float32);
            using Tensor blurred = Blur(wide);
            return blurred.to(x.dtype);
        }
        return Blur(x);
    }

    private Tensor Blur(Tensor x)
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

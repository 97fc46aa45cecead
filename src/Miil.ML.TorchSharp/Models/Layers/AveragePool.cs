using Miil.ML.Onnx.Graphs;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Layers;

/// <summary>
/// Square average pooling with ceil mode and padding left out of the count: the shortcut pooling of
/// TResNet's downsampling blocks (<c>AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)</c>).
/// </summary>
internal sealed class AveragePool : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    public AveragePool(long kernelSize, long stride)
        : base(nameof(AveragePool))
    {
        KernelSize = kernelSize;
        Stride = stride;
    }

    public long KernelSize { get; }

    public long Stride { get; }

    public override Tensor forward(Tensor x)
        => nn.functional.avg_pool2d(x, [KernelSize, KernelSize], [Stride, Stride], ceil_mode: true, count_include_pad: false);

    public string ToOnnx(OnnxGraphBuilder graph, string input)
        => graph.Node("AveragePool", "shortcut_pool", [input], OnnxGraphBuilder.Ints("kernel_shape", KernelSize, KernelSize),
            OnnxGraphBuilder.Ints("strides", Stride, Stride), OnnxGraphBuilder.Int("ceil_mode", 1), OnnxGraphBuilder.Int("count_include_pad", 0));
}

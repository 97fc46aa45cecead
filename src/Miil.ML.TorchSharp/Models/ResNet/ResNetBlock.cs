using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.ResNet;

/// <summary>
/// torchvision's <c>BasicBlock</c> (two 3x3 convolutions, the stride on the first) and <c>Bottleneck</c>
/// (1x1, 3x3 carrying the stride, 1x1 to four times the width: "ResNet v1.5"), with their keys
/// (<c>conv1</c>, <c>bn1</c>, ..., <c>downsample.0</c>/<c>downsample.1</c>): each convolution's batch norm,
/// ReLU between, the shortcut added before the last ReLU. One class for both: they differ in the list of
/// convolutions only.
/// </summary>
internal sealed class ResNetBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    /// <summary>The convolutions and their norms in order (kept out of field registration: registered by name below).</summary>
    private readonly (AlignedConv2d Conv, BatchNormAct2d Norm)[] _units;

    /// <summary>The shortcut's 1x1 convolution and norm, or none (identity).</summary>
    private readonly (AlignedConv2d Conv, BatchNormAct2d Norm)[] _shortcut;

    public ResNetBlock(long inPlanes, long planes, int stride, bool bottleneck)
        : base(bottleneck ? "Bottleneck" : "BasicBlock")
    {
        long expansion = bottleneck ? 4 : 1;
        // (in, out, kernel, stride, ReLU after the norm): the last norm has none; ReLU follows the residual add.
        (long In, long Out, long Kernel, int Stride, bool Relu)[] spec = bottleneck
            ? [(inPlanes, planes, 1, 1, true), (planes, planes, 3, stride, true), (planes, planes * expansion, 1, 1, false)]
            : [(inPlanes, planes, 3, stride, true), (planes, planes, 3, 1, false)];
        _units = spec.Select(u => (new AlignedConv2d(u.In, u.Out, u.Kernel, u.Stride, padding: u.Kernel / 2), new BatchNormAct2d(u.Out, u.Relu ? 0.0 : null))).ToArray();
        for (int i = 0; i < _units.Length; i++)
        {
            register_module($"conv{i + 1}", _units[i].Conv);
            register_module($"bn{i + 1}", _units[i].Norm);
        }
        if (stride != 1 || inPlanes != planes * expansion)
        {
            var conv = new AlignedConv2d(inPlanes, planes * expansion, 1, stride, padding: 0);
            var norm = new BatchNormAct2d(planes * expansion, leakySlope: null);
            _shortcut = [(conv, norm)];
            register_module("downsample", nn.Sequential(("0", conv), ("1", norm)));  // holds the keys; forward and export use the pair directly
        }
        else
        {
            _shortcut = [];
        }
    }

    public override Tensor forward(Tensor x)
    {
        Tensor y = x;
        foreach ((AlignedConv2d conv, BatchNormAct2d norm) in _units)
        {
            y = norm.call(conv.call(y));
        }
        Tensor shortcut = _shortcut.Length == 0 ? x : _shortcut[0].Norm.call(_shortcut[0].Conv.call(x));
        return (y + shortcut).relu_();
    }

    public string ToOnnx(OnnxGraphBuilder graph, string input)
    {
        string y = input;
        foreach ((AlignedConv2d conv, BatchNormAct2d norm) in _units)
        {
            y = OnnxTensors.ConvNorm(graph, conv, norm, y);
        }
        string shortcut = _shortcut.Length == 0 ? input : OnnxTensors.ConvNorm(graph, _shortcut[0].Conv, _shortcut[0].Norm, input);
        return graph.Node("Relu", "block_out", [graph.Node("Add", "residual", [y, shortcut])]);
    }
}

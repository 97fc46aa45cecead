using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>What TResNet's two residual blocks share: the registration order of their parts and the add-then-ReLU that ends them.</summary>
internal static class Residual
{
    /// <summary>Registers the convolutions, then the shortcut, then squeeze-excite: the reference's order, which is the state dict's.</summary>
    public static void Register(nn.Module block, (string Name, nn.Module Module)[] convolutions, nn.Module? downsample, nn.Module? se)
    {
        foreach ((string name, nn.Module module) in convolutions)
        {
            block.register_module(name, module);
        }
        if (downsample is not null)
        {
            block.register_module(nameof(downsample), downsample);
        }
        if (se is not null)
        {
            block.register_module(nameof(se), se);
        }
    }

    /// <summary>ReLU of the branch plus the shortcut.</summary>
    public static Tensor Finish(Tensor branch, Tensor shortcut) => nn.functional.relu(branch.add(shortcut, Scalars.One));

    /// <summary>The same as ONNX nodes.</summary>
    public static string FinishOnnx(OnnxGraphBuilder graph, string branch, string shortcut)
        => graph.Node("Relu", "block", [graph.Node("Add", "residual", [branch, shortcut])]);
}

using Miil.ML.Onnx.Graphs;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Layers;

/// <summary>
/// Modules applied in order under the names given (which become their state-dict prefixes, as with
/// <c>nn.Sequential</c>), each through <c>call</c> so that hooks fire; exported by chaining each
/// module's own ONNX nodes.
/// </summary>
internal sealed class Sequence : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly nn.Module<Tensor, Tensor>[] _modules;

    public Sequence(params (string Name, nn.Module<Tensor, Tensor> Module)[] modules)
        : base(nameof(Sequence))
    {
        _modules = modules.Select(m => m.Module).ToArray();
        foreach ((string name, nn.Module<Tensor, Tensor> module) in modules)
        {
            if (module is not IOnnxExportable)
            {
                throw new ArgumentException($"Module '{name}' ({module.GetType().Name}) cannot export itself to ONNX.", nameof(modules));
            }
            register_module(name, module);
        }
    }

    public override Tensor forward(Tensor x)
    {
        Tensor y = x;
        foreach (nn.Module<Tensor, Tensor> module in _modules)
        {
            y = module.call(y);
        }
        return y;
    }

    public string ToOnnx(OnnxGraphBuilder graph, string input)
        => _modules.Aggregate(input, (x, module) => ((IOnnxExportable)module).ToOnnx(graph, x));
}

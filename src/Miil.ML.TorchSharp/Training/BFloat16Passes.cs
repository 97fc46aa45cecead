using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// Mixed-precision passes without autocast (TorchSharp has none): a bfloat16 twin of the float32
/// master network runs forward and backward; before each step it takes the master's weights (cast),
/// after the forward pass the master takes back the batch-norm running statistics, and the optimiser
/// steps the float32 master with the twin's gradients cast to float32. The loss reads float32 logits
/// (half-precision ASL gives NaNs: ASL issue #53). Batch norm keeps float32 weights and statistics in
/// the twin unless told otherwise: libtorch's CPU batch norm takes bfloat16 input with float32 weights;
/// an ML-Decoder head runs in float32 whatever the setting.
/// </summary>
internal sealed class BFloat16Passes : IDisposable
{
    private readonly MultiLabelNetwork _master;
    private readonly MultiLabelNetwork _twin;
    private readonly (Tensor Master, Tensor Twin)[] _state;
    private readonly (Tensor Master, Tensor Twin)[] _buffers;
    private readonly Tensor[] _twinParameters;
    private readonly (nn.Module Master, nn.Module Twin)[] _modules;
    private readonly (global::TorchSharp.Modules.Parameter Master, global::TorchSharp.Modules.Parameter Twin)[] _parameterPairs;

    /// <param name="master">The float32 network the optimiser steps.</param>
    /// <param name="device">Where the twin runs (the master's device).</param>
    /// <param name="normInFloat32">Whether batch norm keeps float32 weights and statistics in the twin.</param>
    /// <param name="parameterOrder">The optimiser's parameter names, the order of <see cref="MasterGradients"/>.</param>
    public BFloat16Passes(MultiLabelNetwork master, Device device, bool normInFloat32, IEnumerable<string> parameterOrder)
    {
        _master = master;
        _twin = master.NewOfSameShape(device);
        _twin.to(ScalarType.BFloat16);
        // ML-Decoder stays float32 (attention softmax and LayerNorm over few tokens): it costs a sliver of the
        // body's arithmetic and takes the body's bfloat16 features in.
        foreach (nn.Module head in _twin.modules().Where(m => m is Models.Heads.MLDecoder))
        {
            head.to(ScalarType.Float32);
        }
        if (normInFloat32)
        {
            foreach (nn.Module module in _twin.modules().Where(m => m is BatchNormAct2d or global::TorchSharp.Modules.BatchNorm2d))
            {
                module.to(ScalarType.Float32);
            }
        }
        Dictionary<string, Tensor> masterState = master.state_dict();
        Dictionary<string, Tensor> twinState = _twin.state_dict();
        _state = twinState.Select(kv => (masterState[kv.Key], kv.Value)).ToArray();
        var bufferNames = master.named_buffers().Select(b => b.name).ToHashSet(StringComparer.Ordinal);
        _buffers = twinState.Where(kv => bufferNames.Contains(kv.Key)).Select(kv => (masterState[kv.Key], kv.Value)).ToArray();
        Dictionary<string, Tensor> twinParameters = _twin.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        _twinParameters = parameterOrder.Select(name => twinParameters[name]).ToArray();
        Dictionary<string, nn.Module> twinModules = _twin.named_modules().ToDictionary(m => m.name, m => m.module);
        _modules = master.named_modules().Select(m => (m.module, twinModules[m.name])).ToArray();
        Dictionary<string, global::TorchSharp.Modules.Parameter> twinByName = _twin.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        _parameterPairs = master.named_parameters().Select(p => (p.parameter, twinByName[p.name])).ToArray();
    }

    /// <summary>The forward pass in bfloat16 on the master's current weights; float32 logits, attached to the twin's graph.</summary>
    public Tensor Forward(Tensor images)
    {
        using (no_grad())
        {
            foreach ((Tensor master, Tensor twin) in _state)
            {
                twin.copy_(master);  // casts float32 to bfloat16 (norm tensors stay float32)
            }
        }
        // The master's modes, module by module, and which parameters learn (fine-tuning freezes the body).
        foreach ((nn.Module master, nn.Module twin) in _modules)
        {
            if (twin.training != master.training)
            {
                twin.train(master.training);
            }
        }
        foreach ((global::TorchSharp.Modules.Parameter master, global::TorchSharp.Modules.Parameter twin) in _parameterPairs)
        {
            twin.requires_grad = master.requires_grad;
        }
        _twin.zero_grad();
        Tensor logits = _twin.call(images.to(ScalarType.BFloat16)).to(ScalarType.Float32);
        using (no_grad())
        {
            // Running statistics moved during the forward pass: the master keeps them (float32).
            foreach ((Tensor master, Tensor twin) in _buffers)
            {
                master.copy_(twin);
            }
        }
        return logits;
    }

    /// <summary>After backward: the twin's gradients in float32, in the optimiser's parameter order (tensors of the caller's dispose scope).</summary>
    public IReadOnlyList<Tensor?> MasterGradients()
        => _twinParameters.Select(p => p.grad is { } g ? (g.dtype == ScalarType.Float32 ? g : g.to(ScalarType.Float32)) : null).ToArray();

    public void Dispose() => _twin.Dispose();
}

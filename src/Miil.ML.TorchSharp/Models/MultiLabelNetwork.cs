using Miil.ML.Images;
using Miil.ML.Onnx.Graphs;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models;

/// <summary>
/// A network that maps N x 3 x H x W images to N x C logits: what the training loop, the EMA, the
/// best-model copy, checkpoints and the ONNX export work on, whatever the family. A family (TResNet
/// today) implements the few members that differ (its description, a fresh twin, its ONNX nodes, its
/// preprocessing); state copies and the reference-ordered state dict are shared here.
/// </summary>
/// <remarks>The contract's family members are internal: families live in this assembly (docs/architecture.md, "Adding a model family").</remarks>
public abstract class MultiLabelNetwork : nn.Module<Tensor, Tensor>
{
    /// <summary>Names the module (TorchSharp's module name).</summary>
    private protected MultiLabelNetwork(string name)
        : base(name)
    {
    }

    /// <summary>Outputs of the head: the class count.</summary>
    public abstract int ClassCount { get; }

    /// <summary>Input channels (3 for RGB).</summary>
    public abstract int InChannels { get; }

    /// <summary>The family's name, e.g. "TResNet".</summary>
    public abstract string Family { get; }

    /// <summary>
    /// How images become this network's input at <paramref name="imageSize"/>: the preprocessing its
    /// weights expect (TResNet: RGB scaled to [0, 1], no mean/std).
    /// </summary>
    internal abstract ImagePreprocessing Preprocessing(int imageSize);

    /// <summary>
    /// The state dict in PyTorch's order (each module's parameters, then its buffers, module by
    /// module), the order of the reference's files; TorchSharp's own <c>state_dict()</c> lists all
    /// parameters before all buffers. Non-persistent buffers (constant filters) are left out.
    /// </summary>
    public IReadOnlyList<(string Key, Tensor Value)> StateDictInReferenceOrder()
    {
        Dictionary<string, Tensor> state = state_dict();
        var ordered = new List<(string, Tensor)>(state.Count);
        foreach ((string name, nn.Module module) in named_modules())
        {
            string prefix = name.Length == 0 ? "" : name + ".";
            IEnumerable<string> own = module.named_parameters(recurse: false).Select(p => p.name)
                .Concat(module.named_buffers(recurse: false).Select(b => b.name));
            foreach (string key in own.Select(k => prefix + k))
            {
                if (state.TryGetValue(key, out Tensor? value))
                {
                    ordered.Add((key, value));
                }
            }
        }
        return ordered;
    }

    /// <summary>
    /// The network's shape as JSON (family, variant, sizes): written into exported models and compared
    /// when a training checkpoint is resumed.
    /// </summary>
    internal abstract string Describe();

    /// <summary>A freshly initialised network of the same shape (family, variant, classes, head), on the CPU.</summary>
    internal abstract MultiLabelNetwork CreateTwin();

    /// <summary>Adds the nodes that compute the logits from <paramref name="input"/> (images of <paramref name="imageSize"/>) and returns the logits' value name.</summary>
    internal abstract string ToOnnx(OnnxGraphBuilder graph, string input, int imageSize);

    /// <summary>The input side must be a multiple of this (TResNet's space-to-depth stem: 4).</summary>
    internal abstract int InputSizeStep { get; }

    /// <summary>The name of the head module, a direct child (what fine-tuning trains first, with the body frozen).</summary>
    internal abstract string HeadModuleName { get; }

    /// <summary>The parameters of the head, with their state-dict names.</summary>
    internal IEnumerable<(string Name, global::TorchSharp.Modules.Parameter Parameter)> HeadParameters()
        => named_parameters().Where(p => IsHead(p.name));

    /// <summary>Whether a parameter, buffer or module name belongs to the head.</summary>
    internal bool IsHead(string name) => name == HeadModuleName || name.StartsWith(HeadModuleName + ".", StringComparison.Ordinal);

    /// <summary>
    /// Freezes or thaws the body for fine-tuning: frozen, its parameters take no gradient and its norm
    /// layers keep their running statistics (eval mode) while the head trains. Call after <c>train()</c>.
    /// </summary>
    internal void FreezeBody(bool frozen)
    {
        foreach ((string name, global::TorchSharp.Modules.Parameter parameter) in named_parameters().Where(p => !IsHead(p.name)))
        {
            parameter.requires_grad = !frozen;
        }
        if (frozen)
        {
            foreach ((string name, nn.Module module) in named_modules().Where(m => m.name.Length > 0 && !IsHead(m.name)))
            {
                if (module is Layers.BatchNormAct2d or global::TorchSharp.Modules.BatchNorm2d)
                {
                    module.eval();
                }
            }
        }
    }

    /// <summary>
    /// Builds the network a checkpoint holds, with its weights: this library's own checkpoints
    /// (<see cref="SaveCheckpoint"/>) and the published layouts of each family (docs/tresnet.md).
    /// </summary>
    /// <param name="path">A .safetensors or .pth file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="Checkpoints.CheckpointFormatException">The file cannot be read or holds no network this library builds; the message says why.</exception>
    public static MultiLabelNetwork Load(string path) => NetworkFiles.Load(path);

    /// <summary>
    /// Loads a checkpoint's weights into this network (published layouts are converted; a classifier of
    /// another class count is left freshly initialised, as fine-tuning wants).
    /// </summary>
    /// <param name="path">A .safetensors or .pth file of this network's family.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="Checkpoints.CheckpointFormatException">The file cannot be read, or its tensors do not fit this network; the message lists them.</exception>
    public void LoadWeights(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        LoadWeightsFrom(path);
    }

    /// <summary>Writes the network as this library's checkpoint (safetensors, with the architecture, the class names and the image size in its header), atomically.</summary>
    /// <param name="path">The .safetensors file.</param>
    /// <param name="classNames">The classes, in output order; null for none.</param>
    /// <param name="imageSize">The input side the weights were trained at; null for none.</param>
    public void SaveCheckpoint(string path, IReadOnlyList<string>? classNames = null, int? imageSize = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SaveCheckpointTo(path, classNames, imageSize);
    }

    /// <summary>
    /// Writes the network as an ONNX model that <c>ScoreImages</c> scores (outputs <c>Score</c> and
    /// <c>PredictedLabels</c>, class names, thresholds and preprocessing in its metadata), atomically.
    /// </summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="imageSize">The input side.</param>
    /// <param name="classNames">The classes, in output order; null names them class_0, class_1, ...</param>
    /// <param name="thresholds">The decision threshold of each class; null for 0.5 everywhere.</param>
    /// <param name="precision">Float32, or float16 weights and arithmetic (GPU scoring).</param>
    public void SaveOnnx(string path, int imageSize, IReadOnlyList<string>? classNames = null, IReadOnlyList<float>? thresholds = null,
        Onnx.OnnxPrecision precision = Onnx.OnnxPrecision.Float32)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Export.OnnxExporter.Export(this, path, new Export.OnnxExportOptions
        {
            ImageSize = imageSize,
            ClassNames = classNames,
            Thresholds = thresholds,
            Precision = precision,
        });
    }

    /// <summary>Loads a checkpoint of this family into this network.</summary>
    private protected abstract void LoadWeightsFrom(string path);

    /// <summary>Writes this library's checkpoint of this family.</summary>
    private protected abstract void SaveCheckpointTo(string path, IReadOnlyList<string>? classNames, int? imageSize);

    /// <summary>A freshly initialised twin on <paramref name="device"/>.</summary>
    internal MultiLabelNetwork NewOfSameShape(Device device)
    {
        MultiLabelNetwork twin = CreateTwin();
        twin.to(device);
        return twin;
    }

    /// <summary>Copies every parameter and buffer of <paramref name="source"/> (same shape, any device or type) into this network.</summary>
    internal void CopyStateFrom(MultiLabelNetwork source)
    {
        using IDisposable noGrad = no_grad();
        Dictionary<string, Tensor> from = source.state_dict();
        foreach ((string key, Tensor value) in state_dict())
        {
            value.copy_(from[key]);
        }
    }
}

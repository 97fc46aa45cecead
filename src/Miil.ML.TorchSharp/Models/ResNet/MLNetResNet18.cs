using System.Runtime.InteropServices;
using Miil.ML.TorchSharp.Checkpoints;
using Onnx;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.ResNet;

/// <summary>
/// ML.NET's ImageNet ResNet18: the NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (MIT)
/// ships it as <c>tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx</c>, a CNTK export (opset 8: Conv,
/// BatchNormalization, Relu, Add, MaxPool, AveragePool; no classifier), with the preprocessing beside it in
/// <c>ResNetPrepOnnx/ResNetPreprocess.onnx</c> (RGB to BGR, then a 3 x 224 x 224 mean image subtracted).
/// Its initializers are mapped onto <see cref="ResNetArchitecture.MLNetResNet18"/> by walking the graph,
/// not by their names: the stem is the convolution that reads the graph's input, and each residual Add is
/// a block (its main path two convolution-norm units, its shortcut the block's input or a 1x1 unit).
/// </summary>
internal static class MLNetResNet18
{
    /// <summary>The package, the version whose files were read, and the two files in it.</summary>
    public const string Package = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
    public const string Version = "0.24.0";
    public const string NetworkFile = "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx";
    public const string PreprocessingFile = "tools/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx";

    /// <summary>Whether <paramref name="path"/> is an ONNX file (by its name: checkpoints are .pth or .safetensors).</summary>
    public static bool IsOnnx(string path) => path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The package's ResNet18.onnx where NuGet put it: <c>NUGET_PACKAGES</c>, else the user's global
    /// packages folder (<c>~/.nuget/packages</c>); the version this library read first, then any other.
    /// </summary>
    /// <exception cref="FileNotFoundException">The package is not restored anywhere; the message says how to get it.</exception>
    public static string Find()
    {
        string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string folder = Path.Combine(root, Package.ToLowerInvariant());
        IEnumerable<string> versions = Directory.Exists(folder) ? Directory.GetDirectories(folder).Select(Path.GetFileName).OfType<string>() : [];
        foreach (string version in versions.OrderBy(v => v == Version ? 0 : 1).ThenByDescending(v => v, StringComparer.Ordinal))
        {
            string file = Path.Combine(folder, version, NetworkFile);
            if (File.Exists(file))
            {
                return file;
            }
        }
        throw new FileNotFoundException(
            $"ML.NET's ResNet18 is not in the NuGet packages folder ('{folder}'). Restore {Package} {Version} once (a PackageReference, or "
            + $"<PackageDownload Include=\"{Package}\" Version=\"[{Version}]\" /> in any project), or pass the path of its ResNet18.onnx.", Path.Combine(folder, Version, NetworkFile));
    }

    /// <summary>Loads the ONNX network (and the mean image from the preprocessing file beside it, where the package puts it) into <paramref name="model"/>.</summary>
    /// <exception cref="CheckpointFormatException">Not ML.NET's ResNet18 graph (the message says what differs), or the preprocessing file is missing.</exception>
    public static void Load(ResNet model, string path)
    {
        if (!model.Architecture.IsMLNet)
        {
            throw new CheckpointFormatException(path, $"is ML.NET's ResNet18 (CNTK's layers [2, 2, 2, 3], BGR 0-255 input with a mean image), which loads into ResNetArchitecture.MLNetResNet18, not {model.Architecture}.");
        }
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"'{path}' does not exist.", path);
        }
        ModelProto network = Parse(path);
        Dictionary<string, Tensor> weights = network.Graph.Initializer.ToDictionary(t => t.Name, t => Initializer(path, t));
        try
        {
            Dictionary<string, Tensor> state = model.state_dict();
            var assigned = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach ((string prefix, Unit unit) in Units(path, network.Graph, model.Architecture))
            {
                Put(assigned, state, path, prefix.Length == 0 ? "conv1.weight" : prefix + "weight", weights, unit.Conv.Input[1]);
                string norm = prefix.Length == 0 ? "bn1." : prefix.Replace("conv", "bn", StringComparison.Ordinal).Replace("downsample.0.", "downsample.1.", StringComparison.Ordinal);
                Put(assigned, state, path, norm + "weight", weights, unit.Norm.Input[1]);
                Put(assigned, state, path, norm + "bias", weights, unit.Norm.Input[2]);
                Put(assigned, state, path, norm + "running_mean", weights, unit.Norm.Input[3]);
                Put(assigned, state, path, norm + "running_var", weights, unit.Norm.Input[4]);
                float epsilon = unit.Norm.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5f;
                if (Math.Abs(epsilon - Layers.BatchNormAct2d.Epsilon) > 1e-9)
                {
                    throw new CheckpointFormatException(path, $"has a batch norm with epsilon {epsilon}; ResNet's are {Layers.BatchNormAct2d.Epsilon}.");
                }
            }
            string preprocessing = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(path)))!, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
            if (!File.Exists(preprocessing))
            {
                throw new CheckpointFormatException(path, $"has no preprocessing model beside it ('{preprocessing}', where the package puts ResNetPreprocess.onnx): its mean image is part of the network.");
            }
            TensorProto mean = Parse(preprocessing).Graph.Initializer.SingleOrDefault(t => t.Dims.Count == 4)
                ?? throw new CheckpointFormatException(preprocessing, "holds no 1 x 3 x H x W mean image.");
            using Tensor meanImage = Initializer(preprocessing, mean);
            string meanKey = state.Keys.Single(k => k.StartsWith("input_mean.", StringComparison.Ordinal));
            assigned[meanKey] = meanImage;
            var missing = state.Keys.Where(k => !assigned.ContainsKey(k) && !k.StartsWith(model.HeadModuleName + ".", StringComparison.Ordinal) && !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
            if (missing.Count > 0)
            {
                throw new CheckpointFormatException(path, $"left {missing.Count} tensors of the network without weights ({string.Join(", ", missing.Take(6))}): not ML.NET's ResNet18 graph.");
            }
            if (!meanImage.shape.SequenceEqual(state[meanKey].shape))
            {
                throw new CheckpointFormatException(preprocessing, $"has a mean image of [{string.Join(", ", meanImage.shape)}]; the network holds [{string.Join(", ", state[meanKey].shape)}].");
            }
            using (no_grad())
            {
                foreach ((string key, Tensor value) in assigned)
                {
                    state[key].copy_(value);
                }
            }
        }
        finally
        {
            foreach (Tensor t in weights.Values)
            {
                t.Dispose();
            }
        }
    }

    private sealed record Unit(NodeProto Conv, NodeProto Norm);

    /// <summary>Each convolution-norm unit of the graph with the key prefix of its convolution in <paramref name="architecture"/>'s state dict.</summary>
    private static IEnumerable<(string Prefix, Unit Unit)> Units(string path, GraphProto graph, ResNetArchitecture architecture)
    {
        Dictionary<string, NodeProto> producer = graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n, StringComparer.Ordinal);
        Unit? UnitOf(string value) => producer.TryGetValue(value, out NodeProto? norm) && norm.OpType == "BatchNormalization"
            && producer.TryGetValue(norm.Input[0], out NodeProto? conv) && conv.OpType == "Conv" ? new Unit(conv, norm) : null;
        string input = graph.Input.Select(i => i.Name).First(n => graph.Initializer.All(t => t.Name != n));
        NodeProto stemConv = graph.Node.FirstOrDefault(n => n.OpType == "Conv" && n.Input[0] == input)
            ?? throw new CheckpointFormatException(path, $"has no convolution reading the input '{input}': not ML.NET's ResNet18 graph.");
        NodeProto stemNorm = graph.Node.FirstOrDefault(n => n.OpType == "BatchNormalization" && n.Input[0] == stemConv.Output[0])
            ?? throw new CheckpointFormatException(path, "has no batch norm after its stem convolution: not ML.NET's ResNet18 graph (another network, or one with its norms folded).");
        yield return ("", new Unit(stemConv, stemNorm));

        List<NodeProto> adds = graph.Node.Where(n => n.OpType == "Add").ToList();
        int expected = architecture.Layers.Sum();
        if (adds.Count != expected)
        {
            throw new CheckpointFormatException(path, $"has {adds.Count} residual additions; {architecture} has {expected} blocks: not ML.NET's ResNet18 graph.");
        }
        int block = 0;
        for (int stage = 0; stage < 4; stage++)
        {
            for (int i = 0; i < architecture.Layers[stage]; i++, block++)
            {
                NodeProto add = adds[block];
                // The main path ends in a unit whose convolution reads a ReLU of another unit; the shortcut is a 1x1 unit or the block's input.
                (Unit Second, Unit First)? main = null;
                Unit? shortcut = null;
                foreach (string operand in add.Input)
                {
                    if (UnitOf(operand) is not { } unit)
                    {
                        continue;
                    }
                    if (producer.TryGetValue(unit.Conv.Input[0], out NodeProto? relu) && relu.OpType == "Relu" && UnitOf(relu.Input[0]) is { } first
                        && unit.Conv.Attribute.Any(a => a.Name == "kernel_shape" && a.Ints[0] == 3))
                    {
                        main = (unit, first);
                    }
                    else
                    {
                        shortcut = unit;
                    }
                }
                if (main is not { } m)
                {
                    throw new CheckpointFormatException(path, $"residual addition '{add.Name}' has no main path of two 3x3 units: not ML.NET's ResNet18 graph.");
                }
                string prefix = $"layer{stage + 1}.{i}.";
                yield return (prefix + "conv1.", m.First);
                yield return (prefix + "conv2.", m.Second);
                if (shortcut is not null)
                {
                    yield return (prefix + "downsample.0.", shortcut);
                }
            }
        }
    }

    private static void Put(Dictionary<string, Tensor> assigned, Dictionary<string, Tensor> state, string path, string key, Dictionary<string, Tensor> weights, string name)
    {
        if (!state.TryGetValue(key, out Tensor? target))
        {
            throw new CheckpointFormatException(path, $"has a unit the network has no place for ({key}): not ML.NET's ResNet18 graph.");
        }
        if (!weights.TryGetValue(name, out Tensor? value))
        {
            throw new CheckpointFormatException(path, $"names '{name}' for {key} but holds no such initializer.");
        }
        if (!value.shape.SequenceEqual(target.shape))
        {
            throw new CheckpointFormatException(path, $"{key} is [{string.Join(", ", value.shape)}] in the graph ('{name}') but [{string.Join(", ", target.shape)}] in the network.");
        }
        assigned[key] = value;
    }

    private static ModelProto Parse(string path)
    {
        try
        {
            return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new CheckpointFormatException(path, $"is not an ONNX model ({e.Message}).", e);
        }
    }

    /// <summary>A float initializer as a tensor: CNTK writes <c>float_data</c>, other exporters <c>raw_data</c>.</summary>
    private static Tensor Initializer(string path, TensorProto t)
    {
        if (t.DataType != (int)TensorProto.Types.DataType.Float)
        {
            throw new CheckpointFormatException(path, $"initializer '{t.Name}' is not float32.");
        }
        long[] shape = t.Dims.ToArray();
        float[] values = t.FloatData.Count > 0 ? t.FloatData.ToArray() : MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        if (values.LongLength != shape.Aggregate(1L, (a, b) => a * b))
        {
            throw new CheckpointFormatException(path, $"initializer '{t.Name}' holds {values.Length} values for shape [{string.Join(", ", shape)}].");
        }
        return tensor(values, shape);
    }
}

using System.Globalization;
using System.Text;
using Miil.ML.IO;
using Onnx;

namespace Miil.ML.Onnx.Serving;

/// <summary>Options of <see cref="TritonRepository.Save(byte[], string, string?, TritonOptions?)"/>.</summary>
public sealed record TritonOptions
{
    /// <summary>Largest batch Triton may form (the model's batch dimension is dynamic). Default 64.</summary>
    public int MaxBatchSize { get; set; } = 64;

    /// <summary>Batch sizes the dynamic batcher runs as soon as it has them. Default 8, 16, 32.</summary>
    public IReadOnlyList<int> PreferredBatchSizes { get; set; } = [8, 16, 32];

    /// <summary>Longest a request waits for its batch to fill. Default 100 µs (Triton's examples).</summary>
    public TimeSpan MaxQueueDelay { get; set; } = TimeSpan.FromMicroseconds(100);

    /// <summary>Where instances run: null (default) lets Triton choose (one per GPU, else CPU); "KIND_GPU" or "KIND_CPU" to say.</summary>
    public string? InstanceKind { get; set; }

    /// <summary>Instances per device when <see cref="InstanceKind"/> is set. Default 1.</summary>
    public int InstanceCount { get; set; } = 1;

    /// <summary>The version folder. Default 1.</summary>
    public int Version { get; set; } = 1;

    /// <summary>Replace an existing model folder of the same name. Default false: an existing one is refused, never overwritten.</summary>
    public bool Overwrite { get; set; }
}

/// <summary>
/// Writes a Miil.ML ONNX model as an NVIDIA Triton model repository entry, following Triton's
/// model-configuration format (<c>model_config.proto</c>): <c>&lt;name&gt;/1/model.onnx</c>,
/// <c>&lt;name&gt;/config.pbtxt</c> (ONNX Runtime backend; inputs and outputs with names, data types and
/// dims read from the model; <c>max_batch_size</c> and <c>dynamic_batching</c>) and
/// <c>&lt;name&gt;/labels.txt</c> (one class name per line, the label file of the score outputs). Triton
/// receives the model's planar float input: clients preprocess as the model's record says (recorded in
/// the configuration's <c>parameters</c>).
/// </summary>
internal static class TritonRepository
{
    /// <summary>The label file's name inside the model folder.</summary>
    public const string LabelsFile = "labels.txt";

    /// <summary>Writes <paramref name="onnx"/> under <paramref name="repository"/>; returns the model's folder.</summary>
    /// <param name="onnx">The model (Miil.ML contract).</param>
    /// <param name="repository">The model repository folder (created if absent).</param>
    /// <param name="modelName">The model's name (its folder); null for "multilabel".</param>
    /// <param name="options">Batching and instances.</param>
    /// <exception cref="IOException">The model folder exists and <see cref="TritonOptions.Overwrite"/> is false.</exception>
    public static string Save(byte[] onnx, string repository, string? modelName = null, TritonOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onnx);
        ArgumentException.ThrowIfNullOrEmpty(repository);
        options ??= new TritonOptions();
        string name = modelName ?? "multilabel";
        if (name.Length == 0 || name.IndexOfAny([.. Path.GetInvalidFileNameChars(), ' ']) >= 0 || name is "." or "..")
        {
            throw new ArgumentException($"'{name}' cannot name a Triton model folder (letters, digits, '-', '_', '.').", nameof(modelName));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1, nameof(options.MaxBatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Version, 1, nameof(options.Version));
        MultiLabelOnnxModel model = MultiLabelOnnxModel.Read(onnx, "the model");
        ModelProto proto = ModelProto.Parser.ParseFrom(onnx);
        string folder = Path.Combine(repository, name);
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any() && !options.Overwrite)
        {
            throw new IOException($"Triton model folder '{folder}' already exists: choose another name or folder, or set TritonOptions.Overwrite.");
        }
        AtomicFile.Write(Path.Combine(folder, options.Version.ToString(CultureInfo.InvariantCulture), "model.onnx"), s => s.Write(onnx));
        AtomicFile.Write(Path.Combine(folder, LabelsFile), s => s.Write(Encoding.UTF8.GetBytes(string.Concat(model.ClassNames.Select(c => c + "\n")))));
        AtomicFile.Write(Path.Combine(folder, "config.pbtxt"), s => s.Write(Encoding.UTF8.GetBytes(Config(name, proto, model, options))));
        return folder;
    }

    /// <summary>Writes the ONNX file <paramref name="onnxPath"/> under <paramref name="repository"/>; returns the model's folder.</summary>
    /// <param name="onnxPath">An exported .onnx file.</param>
    /// <param name="repository">The model repository folder.</param>
    /// <param name="modelName">The model's name; null for the file's name without extension.</param>
    /// <param name="options">Batching and instances.</param>
    public static string Save(string onnxPath, string repository, string? modelName = null, TritonOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(onnxPath);
        if (!File.Exists(onnxPath))
        {
            throw new FileNotFoundException($"Model '{onnxPath}' does not exist.", onnxPath);
        }
        return Save(File.ReadAllBytes(onnxPath), repository, modelName ?? Path.GetFileNameWithoutExtension(onnxPath), options);
    }

    /// <summary>The configuration in protobuf text format.</summary>
    internal static string Config(string name, ModelProto proto, MultiLabelOnnxModel model, TritonOptions options)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# Written by Miil.ML: a multi-label model of {model.ClassNames.Count} classes at {model.ImageSize} x {model.ImageSize} px.\n");
        text.Append(CultureInfo.InvariantCulture, $"name: \"{name}\"\n");
        text.Append("backend: \"onnxruntime\"\n");
        text.Append(CultureInfo.InvariantCulture, $"max_batch_size: {options.MaxBatchSize}\n");
        text.Append("input [\n");
        text.Append(string.Join(",\n", proto.Graph.Input.Where(i => proto.Graph.Initializer.All(t => t.Name != i.Name))
            .Select(i => Tensor(i, i.Name == OnnxModelContract.InputName ? "  format: FORMAT_NCHW\n" : ""))));
        text.Append("\n]\n");
        text.Append("output [\n");
        text.Append(string.Join(",\n", proto.Graph.Output.Select(o => Tensor(o, o.Name is OnnxModelContract.ScoreName or OnnxModelContract.LogitsName ? $"  label_filename: \"{LabelsFile}\"\n" : ""))));
        text.Append("\n]\n");
        text.Append("dynamic_batching {\n");
        int[] preferred = options.PreferredBatchSizes.Where(b => b >= 1 && b <= options.MaxBatchSize).Distinct().Order().ToArray();
        if (preferred.Length > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"  preferred_batch_size: [ {string.Join(", ", preferred)} ]\n");
        }
        text.Append(CultureInfo.InvariantCulture, $"  max_queue_delay_microseconds: {(long)options.MaxQueueDelay.TotalMicroseconds}\n");
        text.Append("}\n");
        if (options.InstanceKind is string kind)
        {
            if (kind is not ("KIND_GPU" or "KIND_CPU" or "KIND_AUTO"))
            {
                throw new ArgumentException($"InstanceKind '{kind}' is not KIND_GPU, KIND_CPU or KIND_AUTO.", nameof(options));
            }
            text.Append(CultureInfo.InvariantCulture, $"instance_group [\n  {{\n    count: {options.InstanceCount}\n    kind: {kind}\n  }}\n]\n");
        }
        // What a client must do to the pixels, and the per-class thresholds of PredictedLabels.
        text.Append("parameters [\n");
        text.Append(CultureInfo.InvariantCulture, $"  {{\n    key: \"miil.preprocessing\"\n    value: {{ string_value: \"{Escape(OnnxModelContract.PreprocessingJson(model.Preprocessing))}\" }}\n  }},\n");
        text.Append(CultureInfo.InvariantCulture, $"  {{\n    key: \"miil.thresholds\"\n    value: {{ string_value: \"{string.Join(",", model.Thresholds.Select(t => t.ToString("R", CultureInfo.InvariantCulture)))}\" }}\n  }}\n");
        text.Append("]\n");
        return text.ToString();
    }

    private static string Tensor(ValueInfoProto value, string extra)
    {
        TypeProto.Types.Tensor tensor = value.Type.TensorType;
        string type = (TensorProto.Types.DataType)tensor.ElemType switch
        {
            TensorProto.Types.DataType.Float => "TYPE_FP32",
            TensorProto.Types.DataType.Float16 => "TYPE_FP16",
            TensorProto.Types.DataType.Bool => "TYPE_BOOL",
            TensorProto.Types.DataType.Int64 => "TYPE_INT64",
            TensorProto.Types.DataType.Int32 => "TYPE_INT32",
            var other => throw new InvalidOperationException($"The model's '{value.Name}' has element type {other}, which this writer does not map to Triton."),
        };
        // The first dimension is the batch (dynamic in the contract): Triton's max_batch_size > 0 leaves it out.
        IEnumerable<long> dims = tensor.Shape.Dim.Skip(1).Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1L);
        return $"  {{\n    name: \"{value.Name}\"\n    data_type: {type}\n{extra.Replace("  ", "    ", StringComparison.Ordinal)}    dims: [ {string.Join(", ", dims)} ]\n  }}";
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}

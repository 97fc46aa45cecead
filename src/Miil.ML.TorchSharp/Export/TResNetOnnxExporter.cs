using Miil.ML.TorchSharp.Numerics;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Miil.ML.IO;
using Miil.ML.TorchSharp.Models.TResNet;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using Miil.ML.Onnx.Graphs;
using static Miil.ML.Onnx.Graphs.OnnxGraphBuilder;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Export;

/// <summary>
/// Writes a <see cref="TResNet"/> as an ONNX model for ONNX Runtime (GPU or CPU) and ML.NET's ONNX
/// transformer: batch norm folded into the convolutions, batch dimension dynamic, spatial size fixed,
/// outputs <c>Score</c> (sigmoid probabilities) and <c>PredictedLabels</c> (Boolean, per-class
/// thresholds held in the graph), optionally <c>logits</c>; class names, thresholds, image size,
/// architecture and preprocessing in the model's metadata.
/// </summary>
/// <remarks>
/// Opset 13: every operator used (Conv, LeakyRelu, Relu, Add, Mul, Sigmoid, GlobalAveragePool,
/// AveragePool with ceil_mode, Pad in reflect mode, SpaceToDepth, Flatten, Gemm, Greater) has its
/// current semantics there, and ONNX Runtime, TensorRT, OpenVINO and DirectML all run opset 13.
/// The graph is built with OnnxSharp's ONNX protobuf types; ONNX's SpaceToDepth has the reference's
/// channel order (pixel_unshuffle's differs).
/// </remarks>
public static class TResNetOnnxExporter
{
    /// <summary>The ONNX opset the graph uses.</summary>
    public const int Opset = 13;

    /// <summary>Name of the graph input: N x 3 x S x S float, RGB scaled to [0, 1], planar.</summary>
    public const string InputName = "input";

    /// <summary>Name of the probability output, N x C float.</summary>
    public const string ScoreName = "Score";

    /// <summary>Name of the decision output, N x C Boolean (score &gt; threshold of the class).</summary>
    public const string PredictedLabelsName = "PredictedLabels";

    /// <summary>Name of the optional logits output.</summary>
    public const string LogitsName = "logits";

    /// <summary>Metadata keys written into the model.</summary>
    public static class MetadataKeys
    {
        /// <summary>JSON array of class names, in output order.</summary>
        public const string ClassNames = "miil.class_names";

        /// <summary>JSON array of per-class thresholds.</summary>
        public const string Thresholds = "miil.thresholds";

        /// <summary>Square input side in pixels.</summary>
        public const string ImageSize = "miil.image_size";

        /// <summary>JSON object: variant name, layers, width factor, bottleneck features.</summary>
        public const string Architecture = "miil.architecture";

        /// <summary>How images become the input tensor.</summary>
        public const string Preprocessing = "miil.preprocessing";
    }

    /// <summary>The preprocessing the model expects, as written into its metadata.</summary>
    public const string PreprocessingDescription = "RGB; resize: squash to image_size x image_size; scale 1/255 (no mean/std); layout: planar CHW, batch first";

    /// <summary>Exports <paramref name="model"/> to ONNX bytes (the model is read in eval semantics and left unchanged).</summary>
    /// <exception cref="ArgumentException">Options that do not fit the model (class names or thresholds of the wrong count, image size not a multiple of 4).</exception>
    public static byte[] Export(TResNet model, TResNetOnnxExportOptions? options = null)
        => Build(model, options ?? new TResNetOnnxExportOptions()).ToByteArray();

    /// <summary>Exports <paramref name="model"/> to <paramref name="path"/> through a temporary file and a rename.</summary>
    public static void Export(TResNet model, string path, TResNetOnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = Export(model, options);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    internal static ModelProto Build(TResNet model, TResNetOnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        int classes = model.NumClasses;
        IReadOnlyList<string> names = options.ClassNames ?? Enumerable.Range(0, classes).Select(i => $"class_{i}").ToList();
        IReadOnlyList<float> thresholds = options.Thresholds ?? Enumerable.Repeat(options.Threshold, classes).ToList();
        if (names.Count != classes)
        {
            throw new ArgumentException($"{names.Count} class names for a model with {classes} outputs.", nameof(options));
        }
        if (thresholds.Count != classes || thresholds.Any(float.IsNaN))
        {
            throw new ArgumentException($"Thresholds must be {classes} numbers, one per class; got {thresholds.Count}.", nameof(options));
        }
        if (options.ImageSize < 4 || options.ImageSize % 4 != 0)
        {
            throw new ArgumentException($"The image size must be a positive multiple of 4 (SpaceToDepth); got {options.ImageSize}.", nameof(options));
        }

        var g = new OnnxGraphBuilder("tresnet");
        using (no_grad())
        {
            Dictionary<string, nn.Module> top = Children(model);
            string x = InputName;
            foreach ((string name, nn.Module stage) in ((Sequential)top["body"]).named_children())
            {
                x = stage switch
                {
                    SpaceToDepth => g.Node("SpaceToDepth", "space_to_depth", [x], Int("blocksize", SpaceToDepth.BlockSize)),
                    Sequential seq when name.StartsWith("layer", StringComparison.Ordinal) => seq.named_children().Aggregate(x, (v, b) => Block(g, b.module, v)),
                    _ => Unit(g, stage, x),
                };
            }
            string pooled = g.Node("Flatten", "features", [g.Node("GlobalAveragePool", "pooled", [x])], Int("axis", 1));
            string logits = Head(g, ((Sequential)top["head"]).named_children().Single().module, pooled);

            var renamed = g.Graph.Node.Last(n => n.Output.Contains(logits));
            renamed.Output[0] = LogitsName;
            string score = g.Node("Sigmoid", ScoreName, [LogitsName]);
            string limits = g.Initializer("thresholds", thresholds.ToArray(), thresholds.Count);
            string predicted = g.Node("Greater", PredictedLabelsName, [score, limits]);
            if (score != ScoreName || predicted != PredictedLabelsName)
            {
                throw new InvalidOperationException("Output names collided with internal names.");
            }
        }

        g.Graph.Input.Add(Value(InputName, TensorProto.Types.DataType.Float, "batch", model.InChannels, options.ImageSize, options.ImageSize));
        g.Graph.Output.Add(Value(ScoreName, TensorProto.Types.DataType.Float, "batch", classes));
        g.Graph.Output.Add(Value(PredictedLabelsName, TensorProto.Types.DataType.Bool, "batch", classes));
        if (options.IncludeLogits)
        {
            g.Graph.Output.Add(Value(LogitsName, TensorProto.Types.DataType.Float, "batch", classes));
        }

        var onnx = new ModelProto
        {
            IrVersion = 7,   // the IR version of opset 13
            ProducerName = "Miil.ML.TorchSharp",
            ProducerVersion = typeof(TResNetOnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            DocString = $"{model.Architecture} with {classes} classes, exported for {options.ImageSize} x {options.ImageSize} inputs.",
            Graph = g.Graph,
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        Metadata(onnx, MetadataKeys.ClassNames, JsonSerializer.Serialize(names));
        Metadata(onnx, MetadataKeys.Thresholds, JsonSerializer.Serialize(thresholds));
        Metadata(onnx, MetadataKeys.ImageSize, options.ImageSize.ToString(CultureInfo.InvariantCulture));
        Metadata(onnx, MetadataKeys.Architecture, JsonSerializer.Serialize(new
        {
            name = model.Architecture.Name,
            layers = model.Architecture.Layers,
            width_factor = model.Architecture.WidthFactor,
            bottleneck_features = model.BottleneckFeatures,
            num_classes = classes,
        }));
        Metadata(onnx, MetadataKeys.Preprocessing, PreprocessingDescription);
        return onnx;
    }

    /// <summary>A residual block (BasicBlock or Bottleneck), from its named children.</summary>
    private static string Block(OnnxGraphBuilder g, nn.Module block, string x)
    {
        Dictionary<string, nn.Module> c = Children(block);
        string residual = c.TryGetValue("downsample", out nn.Module? downsample)
            ? ((Sequential)downsample).named_children().Aggregate(x, (v, part) => part.module is AvgPool2d
                ? g.Node("AveragePool", "shortcut_pool", [v], Ints("kernel_shape", 2, 2), Ints("strides", 2, 2), Int("ceil_mode", 1), Int("count_include_pad", 0))
                : Unit(g, part.module, v))
            : x;
        string y = Unit(g, c["conv2"], Unit(g, c["conv1"], x));
        if (c.TryGetValue("se", out nn.Module? se))
        {
            y = SqueezeExcite(g, se, y);
        }
        if (c.TryGetValue("conv3", out nn.Module? conv3))
        {
            y = Unit(g, conv3, y);
        }
        return g.Node("Relu", "block", [g.Node("Add", "residual", [y, residual])]);
    }

    /// <summary>A conv-norm-activation unit, optionally followed by anti-aliased downsampling.</summary>
    private static string Unit(OnnxGraphBuilder g, nn.Module module, string x)
    {
        Dictionary<string, nn.Module> c = Children(module);
        if (c["1"] is AntiAliasDownsample aa)
        {
            return AntiAlias(g, aa, Unit(g, c["0"], x));
        }
        var conv = (Conv2d)c["0"];
        var norm = (BatchNormAct2d)c["1"];
        // Batch norm in eval mode is y = (x - mean) / sqrt(var + eps) * gamma + beta: fold it into the
        // convolution's weights and a bias (in float64, then float32).
        using Scalar epsilon = BatchNormAct2d.Epsilon.ToScalar();  // held across the call (Numerics.Scalars)
        using Tensor scale = norm.Weight.to(ScalarType.Float64) / norm.RunningVar.to(ScalarType.Float64).add(epsilon, Scalars.One).sqrt();
        using Tensor weight = conv.weight!.to(ScalarType.Float64) * scale.view(-1, 1, 1, 1);
        using Tensor bias = norm.Bias.to(ScalarType.Float64) - norm.RunningMean.to(ScalarType.Float64) * scale;
        long k = conv.weight!.shape[2];
        string y = g.Node("Conv", "conv", [x, Init(g, "conv.weight", weight), Init(g, "conv.bias", bias)],
            Ints("kernel_shape", k, k), Ints("pads", k / 2, k / 2, k / 2, k / 2), Ints("strides", 1, 1));
        return norm.LeakySlope is double slope ? g.Node("LeakyRelu", "act", [y], Float("alpha", (float)slope)) : y;
    }

    /// <summary>Reflect padding of 1 and the fixed binomial filter at stride 2, one group per channel.</summary>
    private static string AntiAlias(OnnxGraphBuilder g, AntiAliasDownsample aa, string x)
    {
        using Tensor a = tensor(new float[] { 1, 2, 1 });
        using Tensor outer = a.unsqueeze(1) * a.unsqueeze(0);
        using Tensor filter = (outer / outer.sum()).expand(aa.Channels, 1, 3, 3).contiguous();
        string padded = g.Node("Pad", "aa_pad", [x, g.Int64Initializer("aa_pads", 0, 0, 1, 1, 0, 0, 1, 1)], OnnxGraphBuilder.String("mode", "reflect"));
        return g.Node("Conv", "aa", [padded, Init(g, "aa.filter", filter)],
            Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Int("group", aa.Channels));
    }

    private static string SqueezeExcite(OnnxGraphBuilder g, nn.Module se, string x)
    {
        Dictionary<string, nn.Module> c = Children(se);
        string Conv1x1(Conv2d conv, string input) => g.Node("Conv", "se_fc", [input, Init(g, "se.weight", conv.weight!), Init(g, "se.bias", conv.bias!)],
            Ints("kernel_shape", 1, 1));
        string squeezed = g.Node("GlobalAveragePool", "se_pool", [x]);
        string excited = g.Node("Sigmoid", "se_gate", [Conv1x1((Conv2d)c["fc2"], g.Node("Relu", "se_relu", [Conv1x1((Conv2d)c["fc1"], squeezed)]))]);
        return g.Node("Mul", "se_scaled", [x, excited]);
    }

    private static string Head(OnnxGraphBuilder g, nn.Module fc, string features)
    {
        string Gemm(Linear linear, string input)
            => g.Node("Gemm", "fc", [input, Init(g, "fc.weight", linear.weight!), Init(g, "fc.bias", linear.bias!)], Int("transB", 1));
        if (fc is Linear linear)
        {
            return Gemm(linear, features);
        }
        Dictionary<string, nn.Module> c = Children(fc);
        var embedding = (Linear)Children(c["embedding_generator"])["0"];
        return Gemm((Linear)c["FC"], Gemm(embedding, features));
    }

    /// <summary>A float32 initializer from a tensor of any device and type.</summary>
    private static string Init(OnnxGraphBuilder g, string stem, Tensor value)
    {
        using Tensor cpu = value.detach().to(ScalarType.Float32).cpu().contiguous();
        return g.Initializer(stem, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(cpu.bytes), cpu.shape);
    }

    private static Dictionary<string, nn.Module> Children(nn.Module module)
        => module.named_children().ToDictionary(c => c.name, c => c.module, StringComparer.Ordinal);

    private static void Metadata(ModelProto model, string key, string value)
        => model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
}

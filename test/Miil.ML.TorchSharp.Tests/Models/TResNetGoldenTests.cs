using System.Text.Json;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Models;

/// <summary>
/// The tiny checkpoint trained-by-construction in the original code, in every file and layout
/// tresnet_tiny.json lists, gives the reference logits for every input case (max abs 1e-4, float32).
/// </summary>
[TestClass]
public sealed class TResNetGoldenTests
{
    private const double Tolerance = 1e-4;

    private static readonly Lazy<JsonDocument> Tiny = new(() => Golden.Json("tresnet_tiny.json"));

    private static JsonElement Meta => Tiny.Value.RootElement.GetProperty("meta");

    /// <summary>Every checkpoint file the golden description lists.</summary>
    public static IEnumerable<object[]> Files()
    {
        var names = new List<string>();
        names.AddRange(Meta.GetProperty("files").EnumerateObject().Select(p => p.Name));
        names.AddRange(Meta.GetProperty("extra_files").EnumerateObject().Select(p => p.Name));
        return names.Distinct().Select(n => new object[] { n });
    }

    [TestMethod]
    public void GoldenListsBothLayoutsAndFormats()
    {
        string[] files = Files().Select(f => (string)f[0]).ToArray();
        Assert.IsGreaterThanOrEqualTo(5, files.Length);
        Assert.IsTrue(files.Any(f => f.Contains("timm")) && files.Any(f => f.EndsWith(".safetensors")) && files.Any(f => f.Contains("wrapped")));
    }

    [TestMethod]
    [DynamicData(nameof(Files))]
    public void CheckpointReproducesReferenceLogits(string file)
    {
        using TResNet model = NewTinyModel();
        TResNetCheckpointInfo info = TResNetCheckpoint.Load(model, Golden.PathOf(file));
        bool timm = file.Contains("timm");
        Assert.AreEqual(timm ? TResNetCheckpointLayout.Timm : TResNetCheckpointLayout.Miil, info.Layout);
        Assert.AreEqual(!timm, info.ConvertedInPlaceAbn, "MIIL layout converted, timm never");
        Assert.IsFalse(info.HeadReplaced);
        AssertLogits(model, "expected_logits", file);
    }

    [TestMethod]
    [DynamicData(nameof(Files))]
    public void WithoutConversionMiilFilesGivePlainBatchNormLogits(string file)
    {
        if (file.Contains("timm"))
        {
            return;  // timm files hold already-converted weights: no plain-semantics reference for them
        }
        using TResNet model = NewTinyModel();
        TResNetCheckpointInfo info = TResNetCheckpoint.Load(model, Golden.PathOf(file), new TResNetLoadOptions { InPlaceAbn = InPlaceAbnConversion.Never });
        Assert.IsFalse(info.ConvertedInPlaceAbn);
        AssertLogits(model, "expected_logits_plain_batchnorm_semantics", file);
    }

    [TestMethod]
    public void WrappedCheckpointReturnsClassNames()
    {
        string file = Files().Select(f => (string)f[0]).Single(f => f.Contains("wrapped"));
        using TResNet model = NewTinyModel();
        TResNetCheckpointInfo info = TResNetCheckpoint.Load(model, Golden.PathOf(file));
        int classes = Meta.GetProperty("config").GetProperty("num_classes").GetInt32();
        Assert.AreEqual(classes, info.CheckpointNumClasses);
        CollectionAssert.AreEqual(Enumerable.Range(0, classes).Select(i => $"class_{i}").ToArray(), info.ClassNames!.ToArray());
    }

    [TestMethod]
    [DynamicData(nameof(Files))]
    public void ArchitectureIsInferredFromTheFile(string file)
    {
        (TResNet model, TResNetCheckpointInfo _) = TResNetCheckpoint.LoadModel(Golden.PathOf(file));
        using (model)
        {
            JsonElement config = Meta.GetProperty("config");
            CollectionAssert.AreEqual(config.GetProperty("layers").EnumerateArray().Select(e => e.GetInt32()).ToArray(), model.Architecture.Layers.ToArray());
            Assert.AreEqual(config.GetProperty("num_features").GetInt32(), model.NumFeatures);
            AssertLogits(model, "expected_logits", file);
        }
    }

    [TestMethod]
    public void PooledFeaturesMatchTheReferenceEmbeddings()
    {
        using TResNet model = NewTinyModel();
        TResNetCheckpoint.Load(model, Golden.PathOf("tresnet_tiny.safetensors"));
        model.eval();
        foreach (JsonElement c in Tiny.Value.RootElement.GetProperty("cases").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            Tensor features = model.ForwardFeatures(Input(c));
            (double[] expected, _) = Golden.Array(c.GetProperty("expected_embeddings"));
            AssertClose(expected, AsDoubles(features), $"embeddings {c.GetProperty("input_shape")}");
        }
    }

    internal static TResNet NewTinyModel()
    {
        JsonElement config = Meta.GetProperty("config");
        int[] layers = config.GetProperty("layers").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        return new TResNet(
            TResNetArchitecture.Custom(layers, config.GetProperty("width_factor").GetDouble()),
            config.GetProperty("num_classes").GetInt32(),
            config.GetProperty("do_bottleneck_head").GetBoolean() ? 512 : null,
            config.GetProperty("in_chans").GetInt32());
    }

    internal static void AssertLogits(TResNet model, string field, string what)
    {
        model.eval();
        foreach (JsonElement c in Tiny.Value.RootElement.GetProperty("cases").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            Tensor logits = model.forward(Input(c));
            (double[] expected, _) = Golden.Array(c.GetProperty(field));
            AssertClose(expected, AsDoubles(logits), $"{what} {field} input {c.GetProperty("input_shape")}");
        }
    }

    internal static Tensor Input(JsonElement c)
    {
        (double[] values, long[] shape) = Golden.Array(c.GetProperty("input"));
        return tensor(values, shape).to(ScalarType.Float32);
    }

    private static double[] AsDoubles(Tensor t) => t.to(ScalarType.Float64).flatten().data<double>().ToArray();

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.HasCount(expected.Length, actual, what);
        double worst = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        Assert.IsLessThanOrEqualTo(Tolerance, worst, $"{what}: max abs error {worst:E3}");
    }
}

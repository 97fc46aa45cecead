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

    private static JsonElement Meta => TinyGolden.Meta;

    /// <summary>Every checkpoint file the golden description lists.</summary>
    public static IEnumerable<object[]> Files()
    {
        var names = new List<string>();
        names.AddRange(Meta.GetProperty("files").EnumerateObject().Select(p => p.Name));
        names.AddRange(Meta.GetProperty("extra_files").EnumerateObject().Select(p => p.Name));
        return names.Distinct().Select(n => new object[] { n });
    }

    [TestMethod]
    public void GoldenFilesAreTheOnesDescribed()
    {
        // meta.files gives each MIIL-layout file's SHA-256: a stale or damaged copy fails here, not as a logit mismatch.
        foreach (JsonProperty file in Meta.GetProperty("files").EnumerateObject())
        {
            using FileStream stream = File.OpenRead(Golden.PathOf(file.Name));
            Assert.AreEqual(file.Value.GetString(), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream)), file.Name);
        }
        string[] files = Files().Select(f => (string)f[0]).ToArray();
        Assert.IsTrue(files.Any(f => ExpectedLayout(f) == TResNetCheckpointLayout.Timm) && files.Any(f => f.EndsWith(".safetensors")) && files.Any(f => ExpectedLayout(f) == TResNetCheckpointLayout.Miil),
            "both layouts and both formats are described");
    }

    /// <summary>The layout a file's description gives: meta.files are MIIL layout; extra_files say which.</summary>
    private static TResNetCheckpointLayout ExpectedLayout(string file)
    {
        if (Meta.GetProperty("files").TryGetProperty(file, out _))
        {
            return TResNetCheckpointLayout.Miil;
        }
        string description = Meta.GetProperty("extra_files").GetProperty(file).GetString()!;
        return description.Contains("MIIL-layout", StringComparison.OrdinalIgnoreCase) || !description.Contains("timm", StringComparison.OrdinalIgnoreCase)
            ? TResNetCheckpointLayout.Miil
            : TResNetCheckpointLayout.Timm;
    }

    [TestMethod]
    public void StateDictIsTheReferenceLayout()
    {
        // meta.state_dict_keys in file order; released MIIL files have no num_batches_tracked, our model does.
        using TResNet model = NewTinyModel();
        string[] expected = TinyGolden.StateDict.Select(e => $"{e.Key}\t{string.Join(",", e.Shape)}").ToArray();
        string[] actual = model.StateDictInReferenceOrder().Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .Select(kv => $"{kv.Key}\t{string.Join(",", kv.Value.shape)}").ToArray();
        CollectionAssert.AreEqual(expected, actual);
    }

    [TestMethod]
    [DynamicData(nameof(Files))]
    public void CheckpointReproducesReferenceLogits(string file)
    {
        using TResNet model = NewTinyModel();
        TResNetCheckpointInfo info = TResNetCheckpoint.Load(model, Golden.PathOf(file));
        bool timm = ExpectedLayout(file) == TResNetCheckpointLayout.Timm;
        Assert.AreEqual(ExpectedLayout(file), info.Layout);
        Assert.AreEqual(!timm, info.ConvertedInPlaceAbn, "MIIL layout converted, timm never");
        Assert.IsFalse(info.HeadReplaced);
        AssertLogits(model, "expected_logits", file);
    }

    [TestMethod]
    [DynamicData(nameof(Files))]
    public void WithoutConversionMiilFilesGivePlainBatchNormLogits(string file)
    {
        if (ExpectedLayout(file) == TResNetCheckpointLayout.Timm)
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
        // The zoo's wrapper carries num_classes and idx_to_class: one distinct name per class, in index order.
        string file = Files().Select(f => (string)f[0]).Single(f => Meta.GetProperty("extra_files").TryGetProperty(f, out JsonElement d) && d.GetString()!.Contains("wrapped", StringComparison.OrdinalIgnoreCase));
        using TResNet model = NewTinyModel();
        TResNetCheckpointInfo info = TResNetCheckpoint.Load(model, Golden.PathOf(file));
        Assert.AreEqual(TinyGolden.ClassCount, info.CheckpointClassCount);
        Assert.IsNotNull(info.ClassNames, "idx_to_class read");
        Assert.HasCount(TinyGolden.ClassCount, info.ClassNames);
        Assert.IsTrue(info.ClassNames.All(n => n.Length > 0) && info.ClassNames.Distinct().Count() == TinyGolden.ClassCount, string.Join(", ", info.ClassNames));
    }

    [TestMethod]
    [DynamicData(nameof(Files))]
    public void ArchitectureIsInferredFromTheFile(string file)
    {
        (TResNet model, TResNetCheckpointInfo _) = TResNetCheckpoint.LoadModel(Golden.PathOf(file));
        using (model)
        {
            CollectionAssert.AreEqual(TinyGolden.Layers, model.Architecture.Layers.ToArray());
            Assert.AreEqual(TinyGolden.Config.GetProperty("num_features").GetInt32(), model.FeatureCount);
            Assert.AreEqual(TinyGolden.ClassCount, model.ClassCount);
            AssertLogits(model, "expected_logits", file);
        }
    }

    [TestMethod]
    public void PooledFeaturesMatchTheReferenceEmbeddings()
    {
        using TResNet model = NewTinyModel();
        TResNetCheckpoint.Load(model, TinyGolden.Safetensors);
        model.eval();
        foreach (JsonElement c in TinyGolden.Cases)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            Tensor features = model.ForwardFeatures(Input(c));
            (double[] expected, _) = Golden.Array(c.GetProperty("expected_embeddings"));
            AssertClose(expected, AsDoubles(features), $"embeddings {c.GetProperty("input_shape")}");
        }
    }

    internal static TResNet NewTinyModel() => TinyGolden.NewModel();

    internal static void AssertLogits(TResNet model, string field, string what)
    {
        model.eval();
        foreach (JsonElement c in TinyGolden.Cases)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            Tensor logits = model.forward(Input(c));
            (double[] expected, _) = Golden.Array(c.GetProperty(field));
            AssertClose(expected, AsDoubles(logits), $"{what} {field} input {c.GetProperty("input_shape")}");
        }
    }

    internal static Tensor Input(JsonElement c) => TinyGolden.Input(c);

    private static double[] AsDoubles(Tensor t) => t.to(ScalarType.Float64).flatten().data<double>().ToArray();

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.HasCount(expected.Length, actual, what);
        double worst = Bounds.MaxAbsDifference(expected, actual);
        Bounds.AtMost(Tolerance, worst, $"{what}: max abs error {worst:E3}");
    }
}

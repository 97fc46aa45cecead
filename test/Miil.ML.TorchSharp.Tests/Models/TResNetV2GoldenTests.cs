using System.Text.Json;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Models;

/// <summary>
/// TResNet-V2 against timm's own model (tresnet_v2_tiny.*: timm's hub layout, as
/// <c>hf-hub:timm/tresnet_v2_l.*</c> serves it): every file of it loads with the architecture read from its
/// keys (bottleneck blocks in the first stage tell V2), every key of the file's list fits the model with
/// its shape, and every input gives the reference logits and pooled features (max abs 1e-4, as the V1
/// golden tests), and the export scores as TorchSharp does.
/// </summary>
[TestClass]
public sealed class TResNetV2GoldenTests
{
    private const double Tolerance = 1e-4;

    private static readonly Lazy<JsonDocument> Document = new(() => Golden.Json("tresnet_v2_tiny.json"));

    private static JsonElement Meta => Document.Value.RootElement.GetProperty("meta");

    private static JsonElement Config => Meta.GetProperty("config");

    /// <summary>The checkpoint files beside the description: tresnet_v2_tiny.* but the JSON itself.</summary>
    public static IEnumerable<object[]> Files() => Directory.GetFiles(Golden.Directory, "tresnet_v2_tiny.*")
        .Select(Path.GetFileName).Where(f => !f!.EndsWith(".json", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(f => new object[] { f! });

    [TestMethod]
    [DynamicData(nameof(Files))]
    public void TheFileLoadsAsAV2AndGivesTheReferenceLogitsAndFeatures(string file)
    {
        using var model = (TResNet)MultiLabelNetwork.Load(Golden.PathOf(file));
        Assert.IsTrue(model.Architecture.IsV2, "bottleneck blocks in every stage, told by the keys");
        CollectionAssert.AreEqual(Config.GetProperty("layers").EnumerateArray().Select(e => e.GetInt32()).ToArray(), model.Architecture.Layers.ToArray());
        Assert.AreEqual(Config.GetProperty("num_classes").GetInt32(), model.ClassCount);
        Assert.AreEqual(Config.GetProperty("num_features").GetInt32(), model.FeatureCount);
        model.eval();
        foreach (JsonElement c in Document.Value.RootElement.GetProperty("cases").EnumerateArray())
        {
            (double[] values, long[] dims) = Golden.Array(c.GetProperty("input"));
            using Tensor input = tensor(values, dims).to(ScalarType.Float32);
            using Tensor logits = model.call(input);
            using Tensor features = model.ForwardFeatures(input);
            Bounds.AtMost(Tolerance, MaxError(c.GetProperty("expected_logits"), logits), $"{file} logits at {string.Join("x", dims)}");
            Bounds.AtMost(Tolerance, MaxError(c.GetProperty("expected_features"), features), $"{file} features at {string.Join("x", dims)}");
        }
    }

    [TestMethod]
    public void EveryKeyOfTimmsLayoutHasItsPlaceAndShape()
    {
        using var model = new TResNet(TResNetArchitecture.Custom(Config.GetProperty("layers").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            Config.GetProperty("width_factor").GetDouble(), v2: Config.GetProperty("v2").GetBoolean()), Config.GetProperty("num_classes").GetInt32());
        Dictionary<string, Tensor> state = model.state_dict();
        var modelKeys = new HashSet<string>(state.Keys, StringComparer.Ordinal);
        int keys = 0;
        foreach (JsonElement entry in Meta.GetProperty("keys").EnumerateArray())
        {
            string timm = entry[0].GetString()!;
            string? ours = TResNetCheckpoint.MapTimmKey(timm, modelKeys);
            Assert.IsNotNull(ours, $"{timm} has no place in the model");
            CollectionAssert.AreEqual(entry[1].EnumerateArray().Select(e => e.GetInt64()).ToArray(), state[ours].shape, timm);
            keys++;
        }
        Assert.AreEqual(state.Count, keys, "the model has no key timm's lacks");
    }

    [TestMethod]
    public void TheExportScoresAsTorchSharpDoes()
    {
        using var model = (TResNet)MultiLabelNetwork.Load(Golden.PathOf((string)Files().First()[0]));
        Export.OnnxExporterTests.AssertParity(model, size: 64, batch: 2, seed: 3, tolerance: 1e-5);
    }

    private static double MaxError(JsonElement expected, Tensor actual)
    {
        (double[] values, long[] shape) = Golden.Array(expected);
        CollectionAssert.AreEqual(shape, actual.shape);
        return Bounds.MaxAbsDifference(values, actual.data<float>().ToArray());
    }
}

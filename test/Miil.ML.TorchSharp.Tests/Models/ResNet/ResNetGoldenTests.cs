using System.Text.Json;
using Miil.ML.Testing;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.ResNet;
using ResNetModel = Miil.ML.TorchSharp.Models.ResNet.ResNet;
using Miil.ML.TorchSharp.Tests.Export;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Models.ResNet;

/// <summary>
/// ResNet against torchvision's own classes (test/golden/resnet, made by the generator beside the data
/// with Debian's python3-torch and python3-torchvision): each tiny model of the description (basic and
/// bottleneck blocks) loads from torchvision's layout with the architecture read from its keys, has
/// torchvision's keys and shapes, and gives torchvision's logits and pooled features for every input
/// (max abs 1e-4, float32 against float32 as for TResNet; the generator records float32 and float64 differ
/// by under 1e-6), and its export scores as TorchSharp does (relative 1e-4).
/// </summary>
[TestClass]
public sealed class ResNetGoldenTests
{
    private const double Tolerance = 1e-4;

    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "golden", "resnet");

    private static readonly Lazy<JsonDocument> Document = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "resnet_tiny.json"))));

    private static JsonElement Meta => Document.Value.RootElement.GetProperty("meta");

    public static IEnumerable<object[]> Models() => Meta.GetProperty("models").EnumerateObject().Select(m => new object[] { m.Name });

    private static JsonElement Model(string name) => Meta.GetProperty("models").GetProperty(name);

    private static ResNetModel Load(string name)
        => (ResNetModel)MultiLabelNetwork.Load(Path.Combine(Folder, Model(name).GetProperty("files").GetProperty("pth").GetString()!));

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void TorchvisionsLayoutLoadsWithItsArchitectureKeysAndShapes(string name)
    {
        JsonElement model = Model(name);
        using ResNetModel network = Load(name);
        CollectionAssert.AreEqual(model.GetProperty("layers").EnumerateArray().Select(e => e.GetInt32()).ToArray(), network.Architecture.Layers.ToArray());
        Assert.AreEqual(model.GetProperty("block").GetString() == "Bottleneck", network.Architecture.IsBottleneck);
        Assert.AreEqual(model.GetProperty("base_planes").GetInt32(), network.Architecture.BasePlanes);
        Assert.AreEqual(model.GetProperty("num_classes").GetInt32(), network.ClassCount);
        Assert.AreEqual(model.GetProperty("num_features").GetInt32(), network.FeatureCount);
        Dictionary<string, Tensor> state = network.state_dict();
        foreach (JsonElement key in model.GetProperty("keys").EnumerateArray())
        {
            string k = ResNetCheckpoint.OurKey(key.GetProperty("key").GetString()!);
            Assert.IsTrue(state.TryGetValue(k, out Tensor? t), $"{k} is a key of the network");
            CollectionAssert.AreEqual(key.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(), t.shape, k);
        }
        Assert.AreEqual(model.GetProperty("keys").GetArrayLength(), state.Count, "no key beyond torchvision's");
        Assert.AreEqual(model.GetProperty("num_parameters").GetInt64(), network.parameters().Sum(p => p.numel()));
    }

    public static IEnumerable<object[]> Cases() => Document.Value.RootElement.GetProperty("cases").EnumerateArray()
        .Select((c, i) => new object[] { i, c.GetProperty("model").GetString()!, string.Join("x", c.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt32())) });

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void LogitsAndFeaturesAreTorchvisions(int index, string model, string shape)
    {
        JsonElement c = Document.Value.RootElement.GetProperty("cases")[index];
        using ResNetModel network = Load(model);
        network.eval();
        (double[] values, long[] dims) = Golden.Array(Document.Value.RootElement.GetProperty("inputs")[c.GetProperty("input_index").GetInt32()]);
        using Tensor input = tensor(values, dims).to(ScalarType.Float32);
        using Tensor logits = network.call(input);
        using Tensor features = network.ForwardFeatures(input);
        Bounds.AtMost(Tolerance, MaxError(c.GetProperty("expected_logits"), logits), $"{model} logits at {shape}");
        Bounds.AtMost(Tolerance, MaxError(c.GetProperty("expected_features"), features), $"{model} features at {shape}");
    }

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void TheExportScoresAsTorchSharpDoes(string name)
    {
        using ResNetModel network = Load(name);
        OnnxExporterTests.AssertParity(network, size: 64, batch: 2, seed: 5, tolerance: 1e-4);
    }

    [TestMethod]
    public void OurCheckpointGivesTheSameTensorsAndTheHeadFollowsTheClasses()
    {
        using var scratch = new ScratchDirectory();
        using ResNetModel network = Load("basic");
        string path = scratch.File("resnet.safetensors");
        network.SaveCheckpoint(path, Enumerable.Range(0, network.ClassCount).Select(i => $"c{i}").ToList(), imageSize: 64);
        using var again = (ResNetModel)MultiLabelNetwork.Load(path);
        Assert.IsTrue(network.state_dict().All(kv => kv.Value.eq(again.state_dict()[kv.Key]).all().item<bool>()), "every tensor as saved");

        // Fine-tuning: another class count keeps the body, the classifier starts fresh.
        using var tuned = new ResNetModel(network.Architecture, network.ClassCount + 2);
        tuned.LoadWeights(path);
        Assert.IsTrue(tuned.state_dict().Where(kv => !kv.Key.StartsWith("head.", StringComparison.Ordinal)).All(kv => kv.Value.eq(network.state_dict()[kv.Key]).all().item<bool>()));
    }

    private static double MaxError(JsonElement expected, Tensor actual)
    {
        (double[] values, long[] shape) = Golden.Array(expected);
        CollectionAssert.AreEqual(shape, actual.shape);
        return Bounds.MaxAbsDifference(values, actual.data<float>().ToArray());
    }
}

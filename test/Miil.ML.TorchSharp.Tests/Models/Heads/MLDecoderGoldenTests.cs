using System.Text.Json;
using Miil.ML.Onnx;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.Heads;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Tests.Export;
using Miil.ML.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Models.Heads;

/// <summary>
/// ML-Decoder against the reference code (mldecoder_tiny.json and its checkpoints, as the ML_Decoder
/// model zoo ships them): every head the file describes, one query per class and grouped queries, loads
/// by its keys alone (queries, embedding, duplicate factor and classes read from the shapes), has the
/// reference's keys and shapes, and gives the reference's logits for every input (max abs 1e-4: float32
/// against float32 over sums of a few hundred terms, the golden tiny body's tolerance); exported, it
/// scores as TorchSharp does (relative 1e-5).
/// </summary>
[TestClass]
public sealed class MLDecoderGoldenTests
{
    private const double LogitTolerance = 1e-4;

    private static readonly Lazy<JsonDocument> Document = new(() => Golden.Json("mldecoder_tiny.json"));

    private static JsonElement Meta => Document.Value.RootElement.GetProperty("meta");

    public static IEnumerable<object[]> Heads() => Meta.GetProperty("heads").EnumerateArray().Select(h => new object[] { h.GetProperty("name").GetString()! });

    private static JsonElement Head(string name) => Meta.GetProperty("heads").EnumerateArray().Single(h => h.GetProperty("name").GetString() == name);

    private static TResNet Load(string name) => (TResNet)MultiLabelNetwork.Load(Golden.PathOf(Head(name).GetProperty("file").GetString()!));

    [TestMethod]
    [DynamicData(nameof(Heads))]
    public void TheZooFileLoadsByItsKeysWithTheReferenceShapes(string name)
    {
        JsonElement head = Head(name);
        using TResNet model = Load(name);
        Assert.IsTrue(model.Head.IsMLDecoder, "an ML-Decoder head, told by its keys");
        var decoder = (MLDecoder)model.named_modules().Single(m => m.name == "head").module;
        Assert.AreEqual(head.GetProperty("num_classes").GetInt32(), model.ClassCount);
        Assert.AreEqual(head.GetProperty("group_count").GetInt32(), decoder.QueryCount);
        Assert.AreEqual(head.GetProperty("duplicate_factor").GetInt32(), decoder.DuplicateFactor);
        Assert.AreEqual(head.GetProperty("decoder_embedding").GetInt32(), decoder.Embedding);
        Dictionary<string, Tensor> state = model.state_dict();
        foreach (JsonElement key in head.GetProperty("keys").EnumerateArray())
        {
            string k = key[0].GetString()!;
            long[] shape = key[1].EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.IsTrue(state.TryGetValue(k, out Tensor? t), $"{k} is a key of the model");
            CollectionAssert.AreEqual(shape, t.shape, k);
        }
        Assert.AreEqual(head.GetProperty("keys").GetArrayLength(), state.Keys.Count(k => k.StartsWith("head.", StringComparison.Ordinal)), "no head key beyond the reference's");
        Assert.IsFalse(model.named_parameters().Single(p => p.name == "head.decoder.query_embed.weight").parameter.requires_grad, "the queries are fixed, as the reference's");

        (_, TResNetCheckpointInfo info) = TResNetCheckpoint.LoadModel(Golden.PathOf(head.GetProperty("file").GetString()!));
        Assert.AreEqual(model.ClassCount, info.ClassNames!.Count, "class names from idx_to_class");
        Assert.IsTrue(info.ConvertedInPlaceAbn, "the body is the MIIL layout with In-Place ABN weights");
    }

    public static IEnumerable<object[]> Cases() => Document.Value.RootElement.GetProperty("cases").EnumerateArray()
        .Select((c, i) => new object[] { i, c.GetProperty("head").GetString()!, string.Join("x", c.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt32())) });

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void LogitsAreTheReferences(int index, string head, string shape)
    {
        JsonElement c = Document.Value.RootElement.GetProperty("cases")[index];
        using TResNet model = Load(head);
        model.eval();
        (double[] values, long[] dims) = Golden.Array(c.GetProperty("input"));
        using Tensor input = tensor(values, dims).to(ScalarType.Float32);
        (double[] expected, long[] expectedShape) = Golden.Array(c.GetProperty("expected_logits"));
        using Tensor logits = model.call(input);
        CollectionAssert.AreEqual(expectedShape, logits.shape, shape);
        float[] actual = logits.data<float>().ToArray();
        double worst = Bounds.MaxAbsDifference(expected, actual);
        Bounds.AtMost(LogitTolerance, worst, $"{head} at {shape}: max abs error {worst:E2}");
    }

    [TestMethod]
    [DynamicData(nameof(Heads))]
    public void TheExportScoresAsTorchSharpDoes(string name)
    {
        using TResNet model = Load(name);
        // The reference's inputs are of several sizes; the export fixes one (any size works for the head itself).
        foreach (int size in new[] { 64, 96 })
        {
            OnnxExporterTests.AssertParity(model, size, batch: 2, seed: size, tolerance: 1e-5);
        }
    }
}

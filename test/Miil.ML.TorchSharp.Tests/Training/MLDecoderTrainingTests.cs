using Microsoft.ML;
using Miil.ML.Evaluation;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.Testing;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Training;

/// <summary>
/// The ML-Decoder head in the trainer: it trains from scratch (in float32 and in bfloat16), exports,
/// reloads from the model zip and scores as the trained transformer does, and fine-tuning from an
/// ML-Decoder checkpoint of another class count keeps what does not depend on the classes.
/// </summary>
[TestClass]
[DoNotParallelize]  // BFloat16Support.Override in MixedPrecisionTests is process-wide
public sealed class MLDecoderTrainingTests
{
    private static ShapesSet s_set = null!;

    [ClassInitialize]
    public static void MakeData(TestContext _) => s_set = new ShapesSet(train: 160, validation: 48, seed: 31);

    [ClassCleanup]
    public static void RemoveData() => s_set.Dispose();

    /// <summary>A small decoder: the reference's groups, a narrow embedding (a multiple of its 8 heads).</summary>
    private static readonly ClassifierHead SmallDecoder = ClassifierHead.MLDecoder(embedding: 32);

    [TestMethod]
    public void ItTrainsExportsReloadsFromTheZipAndScoresTheSame()
    {
        using var scratch = new ScratchDirectory();
        TResNetAslOptions options = s_set.Options(epochs: 3);
        options.Head = SmallDecoder;
        using TResNetAslTransformer model = s_set.Context.MultiLabel().TResNetAsl(options).Fit(s_set.Train);
        Assert.IsTrue(((TResNet)model.Network).Head.IsMLDecoder);
        Bounds.Below(model.History.Epochs[0].Loss, model.History.Epochs[^1].Loss, "loss falls");
        Assert.IsGreaterThan(s_set.ValidationPrevalence(), model.History.Epochs[^1].ValidationMap!.Value, "it learned");

        float[] trained = s_set.Context.Data.CreateEnumerable<Scored>(model.Transform(s_set.Validation), reuseRowObject: false).SelectMany(r => r.Score).ToArray();
        string zip = scratch.File("model.zip");
        s_set.Context.Model.Save(model, s_set.Train.Schema, zip);
        using ImageScoringTransformer reloaded = s_set.Context.MultiLabel().LoadModel(zip, new ImageScoringOptions { ImageColumnName = "ImagePath", ImageFolder = s_set.Folder });
        float[] again = s_set.Context.Data.CreateEnumerable<Scored>(reloaded.Transform(s_set.Validation), reuseRowObject: false).SelectMany(r => r.Score).ToArray();
        CollectionAssert.AreEqual(trained, again, "the same ONNX graph, reloaded from the zip");

        // A float16 export for GPU scoring: within 1e-2, as the pooling head's.
        string half = scratch.File("model-float16.onnx");
        model.SaveOnnx(half, OnnxPrecision.Float16);
        using ImageScoringTransformer halfScorer = s_set.Context.MultiLabel()
            .ScoreImages(half, new ImageScoringOptions { ImageColumnName = "ImagePath", ImageFolder = s_set.Folder }).Fit(s_set.Validation);
        float[] halves = s_set.Context.Data.CreateEnumerable<Scored>(halfScorer.Transform(s_set.Validation), reuseRowObject: false).SelectMany(r => r.Score).ToArray();
        Bounds.AtMost(1e-2, Bounds.MaxAbsDifference(trained, halves));
    }

    [TestMethod]
    public void ItTrainsInBFloat16WithTheHeadInFloat32()
    {
        TResNetAslOptions options = s_set.Options(epochs: 2);
        options.Head = SmallDecoder;
        options.Precision = TrainingPrecision.BFloat16;
        options.ForceBFloat16 = true;
        using TResNetAslTransformer model = s_set.Context.MultiLabel().TResNetAsl(options).Fit(s_set.Train);
        Assert.AreEqual(TrainingPrecision.BFloat16, model.Precision);
        Bounds.Below(model.History.Epochs[0].Loss, model.History.Epochs[^1].Loss, "loss falls");
        Assert.IsTrue(model.Network.parameters().All(p => p.dtype == ScalarType.Float32), "the master stays float32");
    }

    [TestMethod]
    public void FineTuningKeepsTheProjectionAndTheDecoderLayerAndStartsNewQueries()
    {
        using var scratch = new ScratchDirectory();
        var architecture = TResNetArchitecture.Custom([1, 1, 1, 1], 0.25);
        string path = scratch.File("decoder.safetensors");
        Dictionary<string, Tensor> source;
        random.manual_seed(1);
        using (var published = new TResNet(architecture, 9, head: SmallDecoder))
        {
            published.SaveCheckpoint(path);
            source = published.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        }
        random.manual_seed(2);
        using var tuned = new TResNet(architecture, 6, head: SmallDecoder);
        tuned.LoadWeights(path);
        Dictionary<string, Tensor> state = tuned.state_dict();
        foreach ((string key, Tensor value) in state)
        {
            bool perClass = key.Contains("query_embed", StringComparison.Ordinal) || key.Contains("duplicate_pooling", StringComparison.Ordinal);
            bool same = source.TryGetValue(key, out Tensor? s) && s.shape.SequenceEqual(value.shape) && s.eq(value).all().item<bool>();
            Assert.AreEqual(!perClass, same, perClass ? $"{key} starts fresh for 6 classes" : $"{key} is loaded");
        }

        // A pooling head on an ML-Decoder checkpoint: the body is what transfers.
        using var pooled = new TResNet(architecture, 6);
        pooled.LoadWeights(path);
        Assert.IsTrue(pooled.state_dict().Where(kv => kv.Key.StartsWith("body.", StringComparison.Ordinal) && !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .All(kv => kv.Value.eq(source[kv.Key]).all().item<bool>()), "the body is the checkpoint's");
    }

    private sealed class Scored
    {
        [Microsoft.ML.Data.VectorType]
        public float[] Score { get; set; } = [];
    }
}

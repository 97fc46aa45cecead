using System.Text.Json;
using Microsoft.ML;
using Miil.ML.Datasets;
using Miil.ML.Images;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Tests.Models;
using Miil.ML.Testing;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Miil.ML.TorchSharp.Tests.Export;

/// <summary>
/// <see cref="OnnxExporter"/> on TResNet: the exported graph through ONNX Runtime against TorchSharp's own eval forward, with norm weights
/// and running statistics randomised so that a folding error cannot hide: max|a - b| / max|b| &lt;= 1e-4.
/// </summary>
[TestClass]
public sealed class OnnxExporterTests
{
    private const double RelativeTolerance = 1e-4;

    [TestMethod]
    public void GoldenTinyCheckpointMatchesThroughOnnxRuntime()
    {
        // The exported graph on the golden inputs gives the reference logits (square cases: the graph's input is size x size),
        // and agrees with TorchSharp at every case size.
        using TResNet model = TResNetGoldenTests.NewTinyModel();
        TResNetCheckpoint.Load(model, TinyGolden.Pth);
        int square = 0;
        foreach (JsonElement c in TinyGolden.Cases)
        {
            long[] shape = c.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            if (shape[2] != shape[3])
            {
                continue;
            }
            square++;
            int size = (int)shape[2];
            using Tensor input = TinyGolden.Input(c);
            byte[] onnx = OnnxExporter.Export(model, new OnnxExportOptions { ImageSize = size, IncludeLogits = true });
            using var session = new InferenceSession(onnx);
            var tensorInput = new DenseTensor<float>(input.data<float>().ToArray(), shape.Select(d => (int)d).ToArray());
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxModelContract.InputName, tensorInput)]);
            float[] logits = results.Single(r => r.Name == OnnxModelContract.LogitsName).AsTensor<float>().ToArray();
            (double[] expected, _) = Golden.Array(c.GetProperty("expected_logits"));
            Assert.HasCount(expected.Length, logits);
            double worst = Bounds.MaxAbsDifference(expected, logits);
            Bounds.AtMost(1e-4, worst, $"input {string.Join("x", shape)}: max abs error {worst:E2}");
            AssertParity(model, size, batch: 3, seed: size);
        }
        Assert.IsGreaterThan(0, square, "the golden cases include square inputs");
    }

    [TestMethod]
    public void RandomisedNormsAndBottleneckHeadMatch()
    {
        using var model = new TResNet(TResNetArchitecture.Custom([1, 2, 1, 1], 0.25), classCount: 7, bottleneckFeatures: 32);
        Randomise(model, seed: 3);
        AssertParity(model, size: 64, batch: 2, seed: 4);
        AssertParity(model, size: 40, batch: 1, seed: 5);   // not a multiple of 32: ceil arithmetic in the graph too
    }

    [TestMethod]
    public void TResNetMAt224MatchesOnOneImage()
    {
        using var model = new TResNet(TResNetArchitecture.M, classCount: 80);
        Randomise(model, seed: 6);
        AssertParity(model, size: 224, batch: 1, seed: 7);
    }

    [TestMethod]
    public void AFloat16ExportScoresLikeTheFloat32OneWithin1e2()
    {
        using var model = new TResNet(TResNetArchitecture.Custom([1, 2, 1, 1], 0.25), classCount: 7, bottleneckFeatures: 32);
        Randomise(model, seed: 9);
        model.eval();
        byte[] full = OnnxExporter.Export(model, new OnnxExportOptions { ImageSize = 64 });
        byte[] half = OnnxExporter.Export(model, new OnnxExportOptions { ImageSize = 64, Precision = OnnxPrecision.Float16 });
        global::Onnx.ModelProto proto = global::Onnx.ModelProto.Parser.ParseFrom(half);
        // Every weight is float16; the contract's thresholds compare float32 scores and stay float32.
        string[] float32 = proto.Graph.Initializer.Where(i => i.DataType == (int)global::Onnx.TensorProto.Types.DataType.Float).Select(i => i.Name).ToArray();
        CollectionAssert.AreEqual(new[] { "thresholds" }, float32);
        Assert.IsGreaterThan(10, proto.Graph.Initializer.Count(i => i.DataType == (int)global::Onnx.TensorProto.Types.DataType.Float16));
        Bounds.Below(0.6 * full.Length, (double)half.Length, "about half the bytes");

        using Tensor input = rand([3, 3, 64, 64], generator: new Generator(10));
        float[] Scores(byte[] onnx)
        {
            using var session = new InferenceSession(onnx);
            var tensorInput = new DenseTensor<float>(input.data<float>().ToArray(), new[] { 3, 3, 64, 64 });
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxModelContract.InputName, tensorInput)]);
            Assert.AreEqual(typeof(float), session.OutputMetadata[OnnxModelContract.ScoreName].ElementType, "scores stay float32");
            return results.Single(r => r.Name == OnnxModelContract.ScoreName).AsTensor<float>().ToArray();
        }
        float[] a = Scores(full), b = Scores(half);
        double worst = Bounds.MaxAbsDifference(a, b);
        Bounds.AtMost(1e-2, worst, $"max |score difference| {worst:E2}");
        Assert.AreEqual(ImagePreprocessing.Unnormalized(64), MultiLabelOnnxModel.Read(half, "the float16 export").Preprocessing, "the contract is unchanged");
    }

    [TestMethod]
    public void MetadataDescribesClassesThresholdsAndPreprocessing()
    {
        using var model = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), classCount: 3);
        string[] names = ["cat", "dog", "traffic light"];
        byte[] onnx = OnnxExporter.Export(model, new OnnxExportOptions { ImageSize = 32, ClassNames = names, Thresholds = [0.3f, 0.5f, 0.8f] });
        using var session = new InferenceSession(onnx);
        IReadOnlyDictionary<string, string> meta = session.ModelMetadata.CustomMetadataMap.ToDictionary();
        CollectionAssert.AreEqual(names, JsonSerializer.Deserialize<string[]>(meta[OnnxModelContract.MetadataKeys.ClassNames]));
        CollectionAssert.AreEqual(new[] { 0.3f, 0.5f, 0.8f }, JsonSerializer.Deserialize<float[]>(meta[OnnxModelContract.MetadataKeys.Thresholds]));
        Assert.AreEqual("32", meta[OnnxModelContract.MetadataKeys.ImageSize]);
        Assert.AreEqual(ImagePreprocessing.Unnormalized(32), MultiLabelOnnxModel.Read(onnx, "the export").Preprocessing, "RGB scaled by 1/255, no mean/std");
        StringAssert.Contains(meta[OnnxModelContract.MetadataKeys.Architecture], "\"layers\":[1,1,1,1]");
        CollectionAssert.AreEqual(new[] { OnnxModelContract.ScoreName, OnnxModelContract.PredictedLabelsName }, session.OutputMetadata.Keys.ToArray());
        CollectionAssert.AreEqual(new[] { -1, 3, 32, 32 }, session.InputMetadata[OnnxModelContract.InputName].Dimensions, "batch is dynamic");
    }

    [TestMethod]
    public void AModelWithMeanAndStdScoresLikeTorchSharpOnNormalizedPixels()
    {
        using var scratch = new ScratchDirectory();
        const int size = 32;
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = 6, ImageSize = 40, ClassCount = 4, Seed = 8 }, scratch.Path);
        string[] paths = File.ReadAllLines(manifest).Skip(1).Select(l => Path.Combine(scratch.Path, l.Split(',')[0])).ToArray();
        using var model = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), classCount: 4);
        Randomise(model, seed: 9);
        model.eval();
        ImagePreprocessing imagenet = ImagePreprocessing.ImageNet(size);
        byte[] onnx = OnnxExporter.Export(model, new OnnxExportOptions { ImageSize = size, Preprocessing = imagenet });

        var ml = new MLContext(seed: 0);
        using var scorer = new OnnxImageScorer(ml, onnx);
        Assert.AreEqual(imagenet, scorer.Model.Preprocessing);
        float[] scores = scorer.Score(paths).Scores;

        // The same images through ML.NET's stock pixels, normalised by hand, through TorchSharp.
        var raw = new float[paths.Length * 3 * size * size];
        new ImagePreprocessor(ml, ImagePreprocessing.Unnormalized(size)).Fill(paths, raw);
        int plane = size * size;
        float[] normalized = raw.Select((v, i) => (v - imagenet.Mean[i / plane % 3]) / imagenet.Std[i / plane % 3]).ToArray();
        float[] expected;
        using (no_grad())
        {
            using Tensor x = tensor(normalized, [paths.Length, 3, size, size]);
            using Tensor p = model.forward(x).sigmoid();
            expected = p.data<float>().ToArray();
        }
        Bounds.AtMost(1e-5, Bounds.MaxAbsDifference(expected, scores), "scored with the recorded mean and std");

        // Scored without them, the same images give other numbers: the record is what makes them right.
        using var unnormalized = new OnnxImageScorer(ml, OnnxExporter.Export(model, new OnnxExportOptions { ImageSize = size }));
        Assert.IsGreaterThan(1e-4, Bounds.MaxAbsDifference(unnormalized.Score(paths).Scores, expected));
    }

    [TestMethod]
    public void OptionsThatDoNotFitAreRefused()
    {
        using var model = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), classCount: 3);
        Assert.ThrowsExactly<ArgumentException>(() => OnnxExporter.Export(model, new OnnxExportOptions { ClassNames = ["a"] }));
        Assert.ThrowsExactly<ArgumentException>(() => OnnxExporter.Export(model, new OnnxExportOptions { Thresholds = [0.5f] }));
        Assert.ThrowsExactly<ArgumentException>(() => OnnxExporter.Export(model, new OnnxExportOptions { ImageSize = 30 }));
        Assert.ThrowsExactly<ArgumentException>(() => OnnxExporter.Export(model, new OnnxExportOptions { ImageSize = 32, Preprocessing = ImagePreprocessing.ImageNet(64) }));
    }

    private static void AssertParity(TResNet model, int size, int batch, int seed) => AssertParity(model, size, batch, seed, RelativeTolerance);

    /// <summary>The exported graph through ONNX Runtime against the network's own eval forward: max|a - b| / max|b| within <paramref name="tolerance"/>.</summary>
    internal static void AssertParity(Miil.ML.TorchSharp.Models.MultiLabelNetwork model, int size, int batch, int seed, double tolerance)
    {
        model.eval();
        float[] thresholds = Enumerable.Range(0, model.ClassCount).Select(i => 0.3f + 0.05f * i).ToArray();
        byte[] onnx = OnnxExporter.Export(model, new OnnxExportOptions { ImageSize = size, IncludeLogits = true, Thresholds = thresholds });
        using Tensor input = rand([batch, 3, size, size], generator: new Generator((ulong)seed));
        float[] expected;
        using (no_grad())
        {
            using Tensor logits = model.forward(input);
            expected = logits.data<float>().ToArray();
        }

        using var session = new InferenceSession(onnx);
        var tensorInput = new DenseTensor<float>(input.data<float>().ToArray(), new[] { batch, 3, size, size });
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxModelContract.InputName, tensorInput)]);
        float[] logitsOut = results.Single(r => r.Name == OnnxModelContract.LogitsName).AsTensor<float>().ToArray();
        float[] scores = results.Single(r => r.Name == OnnxModelContract.ScoreName).AsTensor<float>().ToArray();
        bool[] predicted = results.Single(r => r.Name == OnnxModelContract.PredictedLabelsName).AsTensor<bool>().ToArray();

        double scale = expected.Max(v => Math.Abs(v));
        double worst = Bounds.MaxAbsDifference(expected, logitsOut);

        Bounds.AtMost(tolerance, worst / scale, $"{model.Describe()} at {size}: relative error {worst / scale:E2}");
        for (int i = 0; i < scores.Length; i++)
        {
            Assert.AreEqual(1 / (1 + Math.Exp(-logitsOut[i])), scores[i], 1e-6);
            Assert.AreEqual(scores[i] > thresholds[i % model.ClassCount], predicted[i], $"decision {i}");
        }
    }

    /// <summary>Norm weights around +-1 (some negative), biases, running means and variances far from the identity.</summary>
    internal static void Randomise(TResNet model, int seed)
    {
        var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach ((string name, Tensor value) in model.state_dict())
        {
            if (name.EndsWith("running_mean"))
            {
                value.copy_(randn(value.shape, generator: generator) * 0.5);
            }
            else if (name.EndsWith("running_var"))
            {
                value.copy_(rand(value.shape, generator: generator) * 1.5 + 0.5);
            }
            else if (value.dim() == 1 && name.EndsWith(".1.weight"))
            {
                value.copy_(rand(value.shape, generator: generator) * 0.9 + 0.3);
            }
            else if (value.dim() == 1 && name.EndsWith(".1.bias"))
            {
                value.copy_(randn(value.shape, generator: generator) * 0.2);
            }
        }
    }
}

using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Miil.ML.Datasets;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Tests.Infrastructure;
using Miil.ML.TorchSharp.Tests.Models;
using Miil.ML.Testing;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Export;

/// <summary>
/// A model trained in TorchSharp, exported, scored in batches: the same numbers as ML.NET's stock
/// ImageAnalytics + ONNX chain (max abs 1e-5) and as TorchSharp on the same pixels.
/// </summary>
[TestClass]
public sealed class BatchScoringParityTests
{
    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    private sealed class StockScored
    {
        [VectorType]
        public float[] Score { get; set; } = [];

        [VectorType]
        public bool[] PredictedLabels { get; set; } = [];

        [VectorType]
        public float[] input { get; set; } = [];
    }

    [TestMethod]
    public void BatchScorerAgreesWithTheStockChainAndWithTorchSharp()
    {
        using var scratch = new ScratchDirectory();
        var shapes = new SyntheticShapesOptions { Count = 10, ImageSize = 48, ClassCount = 5, Seed = 2 };
        string manifest = SyntheticShapes.Write(shapes, scratch.Path);
        string[] paths = File.ReadAllLines(manifest).Skip(1).Select(l => l.Split(',')[0]).ToArray();

        using TResNet model = TResNetGoldenTests.NewTinyModel();
        TResNetCheckpoint.Load(model, Golden.PathOf("tresnet_tiny.pth"));
        model.eval();
        byte[] onnx = TResNetOnnxExporter.Export(model, new TResNetOnnxExportOptions
        {
            ImageSize = 32, ClassNames = SyntheticShapes.ClassNames(5), Thresholds = [0.1f, 0.3f, 0.5f, 0.7f, 0.9f],
        });

        var ml = new MLContext(seed: 0);
        using var scorer = new TResNetBatchScorer(ml, onnx, scratch.Path);
        Assert.AreEqual(OnnxDevice.Cpu, scorer.Device);
        CollectionAssert.AreEqual(SyntheticShapes.ClassNames(5).ToArray(), scorer.Model.ClassNames.ToArray());
        (float[] scores, bool[] decisions) = scorer.Score(paths);

        IDataView data = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }));
        IDataView stock = ml.Transforms.LoadImages("Image", scratch.Path, "ImagePath")
            .Append(ml.Transforms.ResizeImages("Resized", 32, 32, "Image", ImageResizingEstimator.ResizingKind.Fill))
            .Append(ml.Transforms.ExtractPixels("input", "Resized", interleavePixelColors: false, scaleImage: 1f / 255f))
            .Append(ml.Transforms.ApplyOnnxModel(["Score", "PredictedLabels"], ["input"], new MemoryStream(onnx)))
            .Fit(data).Transform(data);
        StockScored[] expected = ml.Data.CreateEnumerable<StockScored>(stock, reuseRowObject: false).ToArray();

        float[] stockScores = expected.SelectMany(e => e.Score).ToArray();
        Assert.HasCount(stockScores.Length, scores);
        Assert.IsLessThanOrEqualTo(1e-5, stockScores.Zip(scores).Max(p => Math.Abs(p.First - p.Second)), "batched vs stock chain");
        CollectionAssert.AreEqual(expected.SelectMany(e => e.PredictedLabels).ToArray(), decisions);

        using Tensor pixels = tensor(expected.SelectMany(e => e.input).ToArray(), [paths.Length, 3, 32, 32]);
        float[] viaTorch;
        using (no_grad())
        {
            using Tensor torchScores = model.forward(pixels).sigmoid();
            viaTorch = torchScores.data<float>().ToArray();
        }
        Assert.IsLessThanOrEqualTo(1e-5, viaTorch.Zip(scores).Max(p => Math.Abs(p.First - p.Second)), "batched vs TorchSharp");
    }

    [TestMethod]
    public void AnUnreadableImageIsNamed()
    {
        using var scratch = new ScratchDirectory();
        string broken = scratch.File("broken.png");
        File.WriteAllText(broken, "not an image");
        using TResNet model = TResNetGoldenTests.NewTinyModel();
        byte[] onnx = TResNetOnnxExporter.Export(model, new TResNetOnnxExportOptions { ImageSize = 32 });
        using var scorer = new TResNetBatchScorer(new MLContext(seed: 0), onnx);
        Exception e = Assert.Throws<Exception>(() => scorer.Score([broken]));
        while (e.InnerException is not null && !e.Message.Contains(broken))
        {
            e = e.InnerException;
        }
        StringAssert.Contains(e.Message, broken);
    }
}

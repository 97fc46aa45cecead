using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Miil.ML.Datasets;
using Miil.ML.Images;
using Miil.ML.Onnx.Scoring;
using Miil.ML.Testing;

namespace Miil.ML.Onnx.Tests.Scoring;

/// <summary>
/// The batched scorer computes what ML.NET's stock ImageAnalytics + ONNX chain computes (max abs 1e-5 on
/// scores, equal decisions), for a model without normalisation and for one that records a per-channel
/// mean and standard deviation, which the scorer must apply (and its saved chain too).
/// </summary>
[TestClass]
public sealed class StockChainParityTests
{
    private const int Size = 32;

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
    }

    private sealed class Pixels
    {
        [VectorType]
        public float[] input { get; set; } = [];
    }

    private static readonly Dictionary<string, ImagePreprocessing> s_preprocessings = new()
    {
        ["none"] = ImagePreprocessing.Unnormalized(Size),
        ["imagenet"] = ImagePreprocessing.ImageNet(Size),
        ["bgr, uniform"] = new ImagePreprocessing { ImageSize = Size, ChannelOrder = ColorChannelOrder.Bgr, Mean = [0.5f, 0.5f, 0.5f], Std = [0.25f, 0.25f, 0.25f] },
    };

    public static IEnumerable<object[]> Preprocessings() => s_preprocessings.Keys.Select(name => new object[] { name });

    [TestMethod]
    [DynamicData(nameof(Preprocessings))]
    public void BatchScorerAgreesWithTheStockChain(string name)
    {
        ImagePreprocessing preprocessing = s_preprocessings[name];
        using var scratch = new ScratchDirectory();
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = 10, ImageSize = 48, ClassCount = 5, Seed = 2 }, scratch.Path);
        string[] paths = File.ReadAllLines(manifest).Skip(1).Select(l => l.Split(',')[0]).ToArray();
        byte[] onnx = ContractModels.Tiny(5, Size, SyntheticShapes.ClassNames(5), [0.1f, 0.3f, 0.5f, 0.7f, 0.9f], preprocessing);

        var ml = new MLContext(seed: 0);
        using var scorer = new OnnxImageScorer(ml, onnx, scratch.Path);
        Assert.AreEqual(OnnxDevice.Cpu, scorer.Device);
        Assert.AreEqual(preprocessing, scorer.Model.Preprocessing, name);
        (float[] scores, bool[] decisions) = scorer.Score(paths);

        // ML.NET's own transforms, with the record's normalisation applied by hand to their pixels.
        IDataView data = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }));
        ImagePixelExtractingEstimator.ColorsOrder order = preprocessing.ChannelOrder == ColorChannelOrder.Rgb
            ? ImagePixelExtractingEstimator.ColorsOrder.ARGB : ImagePixelExtractingEstimator.ColorsOrder.ABGR;
        IDataView pixels = ml.Transforms.LoadImages("Image", scratch.Path, "ImagePath")
            .Append(ml.Transforms.ResizeImages("Resized", Size, Size, "Image", ImageResizingEstimator.ResizingKind.Fill))
            .Append(ml.Transforms.ExtractPixels("input", "Resized", orderOfExtraction: order, interleavePixelColors: false, scaleImage: 1f / 255f))
            .Fit(data).Transform(data);
        float[][] normalized = ml.Data.CreateEnumerable<Pixels>(pixels, reuseRowObject: false).Select(p => Normalize(p.input, preprocessing)).ToArray();
        SchemaDefinition schema = SchemaDefinition.Create(typeof(Pixels));
        schema[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3, Size, Size);
        IDataView byHand = ml.Data.LoadFromEnumerable(normalized.Select(v => new Pixels { input = v }), schema);
        IDataView stock = ml.Transforms.ApplyOnnxModel(["Score", "PredictedLabels"], ["input"], new MemoryStream(onnx)).Fit(byHand).Transform(byHand);
        StockScored[] expected = ml.Data.CreateEnumerable<StockScored>(stock, reuseRowObject: false).ToArray();
        float[] stockScores = expected.SelectMany(e => e.Score).ToArray();
        Assert.HasCount(stockScores.Length, scores);
        Bounds.AtMost(1e-5, Bounds.MaxAbsDifference(stockScores, scores), $"{name}: batched vs stock chain");
        CollectionAssert.AreEqual(expected.SelectMany(e => e.PredictedLabels).ToArray(), decisions, name);

        // The scorer's saved chain (what a plain Model.Load runs) normalises the same way.
        using ImageScoringTransformer transformer = ml.MultiLabel().ScoreImages(onnx, new ImageScoringOptions { ImageFolder = scratch.Path }).Fit(data);
        string zip = scratch.File("model.zip");
        ml.Model.Save(transformer, data.Schema, zip);
        ITransformer loaded = new MLContext(seed: 1).Model.Load(zip, out _);
        float[] saved = ml.Data.CreateEnumerable<StockScored>(loaded.Transform(data), reuseRowObject: false).SelectMany(e => e.Score).ToArray();
        Bounds.AtMost(1e-5, Bounds.MaxAbsDifference(saved, scores), $"{name}: batched vs saved chain");
    }

    [TestMethod]
    public void NormalizationChangesTheScores()
    {
        // Guards the test above: a record that normalises must give other scores than one that does not.
        using var scratch = new ScratchDirectory();
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = 4, ImageSize = 48, ClassCount = 5, Seed = 3 }, scratch.Path);
        string[] paths = File.ReadAllLines(manifest).Skip(1).Select(l => Path.Combine(scratch.Path, l.Split(',')[0])).ToArray();
        var ml = new MLContext(seed: 0);
        using var plain = new OnnxImageScorer(ml, ContractModels.Tiny(5, Size));
        using var imagenet = new OnnxImageScorer(ml, ContractModels.Tiny(5, Size, preprocessing: ImagePreprocessing.ImageNet(Size)));
        float[] a = plain.Score(paths).Scores, b = imagenet.Score(paths).Scores;
        Assert.IsGreaterThan(1e-3, Bounds.MaxAbsDifference(a, b));
    }

    [TestMethod]
    public void AnUnreadableImageIsNamed()
    {
        using var scratch = new ScratchDirectory();
        string broken = scratch.File("broken.png");
        File.WriteAllText(broken, "not an image");
        using var scorer = new OnnxImageScorer(new MLContext(seed: 0), ContractModels.Tiny(3, Size));
        Exception e = Assert.Throws<Exception>(() => scorer.Score([broken]));
        while (e.InnerException is not null && !e.Message.Contains(broken))
        {
            e = e.InnerException;
        }
        StringAssert.Contains(e.Message, broken);
    }

    private static float[] Normalize(float[] pixels, ImagePreprocessing p)
    {
        int plane = Size * Size;
        return pixels.Select((v, i) => (v - p.Mean[i / plane]) / p.Std[i / plane]).ToArray();
    }
}

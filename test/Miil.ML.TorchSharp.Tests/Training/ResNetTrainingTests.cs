using Microsoft.ML;
using Miil.ML.Images;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.ResNet;
using Miil.ML.TorchSharp.Training;
using ResNetModel = Miil.ML.TorchSharp.Models.ResNet.ResNet;

namespace Miil.ML.TorchSharp.Tests.Training;

/// <summary>
/// The ResNet family in the trainer that TResNet uses: it trains from scratch with either head and its
/// export scores what it learned; ML.NET's ImageNet ResNet18 fine-tunes by its catalogue name (found in
/// the NuGet packages folder), at a size other than its 224 (the mean image follows), and scores with its
/// own preprocessing (BGR, 0-255).
/// </summary>
[TestClass]
public sealed class ResNetTrainingTests
{
    private static ShapesSet s_set = null!;

    [ClassInitialize]
    public static void MakeData(TestContext _) => s_set = new ShapesSet(train: 160, validation: 48, seed: 41);

    [ClassCleanup]
    public static void RemoveData() => s_set.Dispose();

    public static IEnumerable<object[]> Heads() => [["pooling"], ["ml-decoder"]];

    [TestMethod]
    [DynamicData(nameof(Heads))]
    public void ATinyResNetTrainsWithEitherHead(string head)
    {
        TResNetAslOptions options = s_set.Options(epochs: 3);
        options.Architecture = ResNetArchitecture.Custom([1, 1, 1, 1], basePlanes: 8);
        options.Head = head == "pooling" ? ClassifierHead.Pooling : ClassifierHead.MLDecoder(embedding: 32);
        using TResNetAslTransformer model = s_set.Context.MultiLabel().TResNetAsl(options).Fit(s_set.Train);
        Assert.IsInstanceOfType<ResNetModel>(model.Network);
        Bounds.Below(model.History.Epochs[0].Loss, model.History.Epochs[^1].Loss, "loss falls");
        Assert.IsGreaterThan(s_set.ValidationPrevalence(), model.History.Epochs[^1].ValidationMap!.Value, "it learned");
        var served = s_set.Context.MultiLabel().Evaluate(model.Transform(s_set.Validation));
        Assert.AreEqual(model.ValidationMetrics!.MeanAveragePrecision, served.MeanAveragePrecision, 0.005, "the export scores what was validated");
        Assert.IsTrue(model.Scorer.Model.Preprocessing.Normalizes, "torchvision's ImageNet mean and std travel with the model");
    }

    [TestMethod]
    public void MLNetsResNet18FineTunesByNameAtAnotherSize()
    {
        TResNetAslOptions options = s_set.Options(epochs: 1);
        options.Architecture = null;                 // follows the name
        options.PretrainedWeights = "resnet18-mlnet";
        using TResNetAslTransformer model = s_set.Context.MultiLabel().TResNetAsl(options).Fit(s_set.Train);
        var network = (ResNetModel)model.Network;
        Assert.IsTrue(network.Architecture.IsMLNet);
        ImagePreprocessing preprocessing = model.Scorer.Model.Preprocessing;
        Assert.AreEqual(ColorChannelOrder.Bgr, preprocessing.ChannelOrder);
        Assert.AreEqual(1f, preprocessing.Scale, "0-255, the mean image is in the network");
        Assert.IsTrue(double.IsFinite(model.History.Epochs[0].Loss));
        var served = s_set.Context.MultiLabel().Evaluate(model.Transform(s_set.Validation));
        Assert.AreEqual(model.ValidationMetrics!.MeanAveragePrecision, served.MeanAveragePrecision, 0.005, "the export at 32 px scores what was validated");
    }
}
